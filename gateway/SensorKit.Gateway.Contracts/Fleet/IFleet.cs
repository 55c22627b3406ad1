using SensorKit.Protocol;

namespace SensorKit.Gateway.Contracts;

/// <summary>
/// The fleet as the ingest knows it: the last status of every node, by site and node (who is in the fleet, where
/// each node stands, the health of its sensors). Read by the stages after the ingest; only the ingest writes it
/// (Fleet/NodeDirectory.cs).
/// </summary>
public interface IFleet
{
    IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> All { get; }

    bool IsKnown(string site, string node);

    NodeStatusMessage? Get(string site, string node);

    GeoLocation? Location(string site, string node);

    /// <summary>Loads the statuses the state store kept across a restart (idempotent) and returns those it loaded: of one site, or all when <paramref name="site"/> is null.</summary>
    IReadOnlyCollection<NodeStatusMessage> Restore(string? site = null);
}
