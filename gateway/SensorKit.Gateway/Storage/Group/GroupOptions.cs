namespace SensorKit.Gateway.Storage.Group;

/// <summary>
/// Configuration section "Group": several gateways share the sites on one external broker and one PostgreSQL
/// database (docs/scale-out.md). Without <see cref="Member"/> the gateway runs alone and holds every site.
/// </summary>
public sealed class GroupOptions
{
    public const string Section = "Group";

    /// <summary>This gateway's name in the group, unique among its members (e.g. the host name).</summary>
    public string? Member { get; set; }

    /// <summary>The sites the group serves; every member must list the same ones.</summary>
    public List<string> Sites { get; set; } = [];

    /// <summary>How long a lease lasts without renewal: a dead member's sites move on after at most this plus one <see cref="RenewInterval"/>.</summary>
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromSeconds(9);

    /// <summary>How often a member renews its leases, looks at the members and takes or hands over sites.</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(3);

    public bool Enabled => Member is not null;

    /// <summary>The most sites a group serves: each is one MQTT session per holder.</summary>
    public const int MaxSites = 4096;
}
