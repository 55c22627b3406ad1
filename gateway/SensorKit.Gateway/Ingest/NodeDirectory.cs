using System.Collections.Concurrent;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Ingest;

/// <summary>
/// The last status of every node the gateway knows, by site and node: who is in the fleet, where each node
/// stands (for CAP areas) and the health of its sensors. Kept in the state store, so a node that died during
/// an event still has a location after a gateway restart.
/// </summary>
public sealed class NodeDirectory
{
    private readonly ConcurrentDictionary<(string Site, string Node), NodeStatusMessage> _nodes = new();

    public IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> All => _nodes;

    public bool IsKnown(string site, string node) => _nodes.ContainsKey((site, node));

    public NodeStatusMessage? Get(string site, string node) => _nodes.TryGetValue((site, node), out NodeStatusMessage? s) ? s : null;

    public GeoLocation? Location(string site, string node) => Get(site, node)?.Location;

    internal void Set(NodeStatusMessage status) => _nodes[(status.Site, status.Node)] = status;
}
