using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Fleet;

/// <summary>Where the fleet directory keeps node statuses across a restart; the state store implements it.</summary>
public interface INodeStatusStore
{
    void SaveNode(string site, string node, byte[] status);

    /// <summary>The stored statuses: of one site, or of all when <paramref name="site"/> is null.</summary>
    IReadOnlyList<byte[]> LoadNodes(string? site = null);
}

/// <summary>
/// The last status of every node the gateway knows, by site and node: who is in the fleet, where each node
/// stands (for CAP areas) and the health of its sensors. Kept in the state store, so a node that died during
/// an event still has a location after a gateway restart. The ingest writes it (<see cref="Update"/>); every
/// later stage reads it through <see cref="IFleet"/>.
/// </summary>
public sealed partial class NodeDirectory(INodeStatusStore store, ILogger<NodeDirectory> logger) : IFleet
{
    private readonly ConcurrentDictionary<(string Site, string Node), NodeStatusMessage> _nodes = new();

    public IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> All => _nodes;

    public bool IsKnown(string site, string node) => _nodes.ContainsKey((site, node));

    public NodeStatusMessage? Get(string site, string node) => _nodes.TryGetValue((site, node), out NodeStatusMessage? s) ? s : null;

    public GeoLocation? Location(string site, string node) => Get(site, node)?.Location;

    /// <summary>Takes a validated status and stores it as received; a store that fails is logged, the status still counts.</summary>
    internal void Update(NodeStatusMessage status, ReadOnlySpan<byte> payload)
    {
        _nodes[(status.Site, status.Node)] = status;
        try
        {
            store.SaveNode(status.Site, status.Node, payload.ToArray());
        }
        catch (Exception e) when (e is StateStoreException or SiteNotHeldException)
        {
            // Not stored (the database is away, or another gateway of the group holds the site now); the status still counts.
            LogNodeNotSaved(status.Node, e.Message);
        }
    }

    public IReadOnlyCollection<NodeStatusMessage> Restore(string? site = null)
    {
        var restored = new List<NodeStatusMessage>();
        foreach (byte[] status in store.LoadNodes(site))
        {
            if (ProtocolJson.TryReadStatus(status, out NodeStatusMessage? s, out _))
            {
                _nodes[(s.Site, s.Node)] = s;
                restored.Add(s);
            }
        }

        return restored;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Status of node {Node} could not be stored: {Reason}")]
    private partial void LogNodeNotSaved(string node, string reason);
}
