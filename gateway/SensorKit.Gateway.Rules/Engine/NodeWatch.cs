using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>What the operator rules keep per node, sensor and channel.</summary>
public sealed partial class RuleEngine
{
    /// <summary>What the operator rules know about one node.</summary>
    private sealed class NodeWatch(string site, string node)
    {
        public string Site { get; } = site;

        public string Node { get; } = node;

        public NodeState State { get; set; } = NodeState.Online;

        public NodeStatusMessage? Status { get; set; }

        /// <summary>Gateway time of the node's last message of any kind.</summary>
        public DateTimeOffset LastSeen { get; set; }

        /// <summary>False until the node is heard from after a gateway start.</summary>
        public bool Heard { get; set; }

        /// <summary>Since when the node has been talking without an outage (gateway time).</summary>
        public DateTimeOffset AliveSince { get; set; }

        public ThresholdState? Offline { get; set; }

        public Dictionary<string, SensorWatch> Sensors { get; } = new(StringComparer.Ordinal);

        public Dictionary<(string Sensor, string Quantity), ChannelWatch> Channels { get; } = [];

        public SensorWatch Sensor(string id, TimeSpan hold)
        {
            if (!Sensors.TryGetValue(id, out SensorWatch? s))
            {
                s = new SensorWatch(id, new ThresholdState(0.5, 0, hold, above: true));
                Sensors.Add(id, s);
            }

            return s;
        }

        public ChannelWatch Channel(string sensor, string quantity)
        {
            if (!Channels.TryGetValue((sensor, quantity), out ChannelWatch? c))
            {
                c = new ChannelWatch(sensor, quantity);
                Channels.Add((sensor, quantity), c);
            }

            return c;
        }
    }

    private sealed class SensorWatch(string id, ThresholdState failed)
    {
        public string Id { get; } = id;

        public ThresholdState Failed { get; } = failed;

        public SensorStatus? Last { get; set; }

        /// <summary>When the node last reported the sensor back from failed.</summary>
        public DateTimeOffset? RecoveredAt { get; set; }
    }

    private sealed class ChannelWatch(string sensor, string quantity)
    {
        public string Sensor { get; } = sensor;

        public string Quantity { get; } = quantity;

        public string Id { get; } = $"{sensor}/{quantity}";

        public DateTimeOffset? LastEnd { get; set; }

        public TimeSpan Window { get; set; }

        public DateTimeOffset LastReceived { get; set; }

        public bool Heard { get; set; }

        /// <summary>Where the channel's backlog keeps its condition states while it is evaluated.</summary>
        public string BackfillKey { get; } = $"{sensor}~backlog";

        /// <summary>The newest backlog window taken: an older or equal one is a redelivery.</summary>
        public DateTimeOffset? BackfillEnd { get; set; }

        /// <summary>True while a backlog is being evaluated in its own condition states.</summary>
        public bool InBackfill { get; set; }

        /// <summary>When the last backlog window arrived (gateway clock).</summary>
        public DateTimeOffset BackfillSeen { get; set; }

        /// <summary>When the last window not flagged stale arrived.</summary>
        public DateTimeOffset LastFresh { get; set; }

        /// <summary>When the last window flagged neither stuck nor out of range arrived.</summary>
        public DateTimeOffset LastPlausible { get; set; }

        /// <summary>The flags of the last implausible window, for the operator alert's text.</summary>
        public QualityFlags ImplausibleFlags { get; set; }

        public ThresholdState Stale { get; } = new(0.5, 0, TimeSpan.Zero, above: true);

        public ThresholdState Implausible { get; } = new(0.5, 0, TimeSpan.Zero, above: true);
    }
}
