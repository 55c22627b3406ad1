namespace SensorKit.Gateway.Storage;

/// <summary>
/// Which sites this gateway may write and publish for. Alone, every site is its own (<see cref="SoleGateway"/>). In a
/// gateway group a site is held by lease, a row of <c>site_leases</c> in PostgreSQL with an expiry and a fencing
/// token that grows with every new holder; the state store writes for a site only in a transaction that finds this
/// gateway's lease with that token still unexpired, and refuses the write otherwise.
/// </summary>
public interface ISiteOwnership
{
    /// <summary>This gateway's name in the group (the <c>holder</c> of its lease rows); null when it runs alone.</summary>
    string? Member { get; }

    /// <summary>
    /// True with the site's fencing token while this gateway holds the site and, by its own monotonic clock, the
    /// lease has not run out; false once it may be someone else's. Alone: always true, token 0.
    /// </summary>
    bool TryGetToken(string site, out long token);

    /// <summary>The store found the lease gone or the database unreachable for a write of the site: stop serving it now.</summary>
    void Lost(string site, string reason);
}

/// <summary>A gateway that runs alone: it holds every site.</summary>
public sealed class SoleGateway : ISiteOwnership
{
    public string? Member => null;

    public bool TryGetToken(string site, out long token)
    {
        token = 0;
        return true;
    }

    public void Lost(string site, string reason)
    {
    }
}
