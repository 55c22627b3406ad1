using Microsoft.Extensions.Options;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sampling;
using SensorKit.Protocol;

namespace SensorKit.Node.Publishing;

/// <summary>Builds the node status message from configuration, the sensors' current health and the outbox's figures.</summary>
public sealed class NodeStatusSource(IOptions<NodeOptions> options, SensorRegistry sensors, IOutbox outbox, TimeProvider time)
{
    private readonly NodeOptions _node = options.Value;
    private readonly DateTimeOffset _started = time.GetUtcNow();

    public static string FirmwareVersion { get; } =
        typeof(NodeStatusSource).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public string Topic => Topics.Status(_node.Site, _node.Id);

    /// <param name="broker">The broker the status goes to (<see cref="Configuration.MqttOptions.Name"/>).</param>
    public NodeStatusMessage Build(NodeState state, string? broker = null)
    {
        DateTimeOffset now = time.GetUtcNow();
        OutboxFigures figures = outbox.Figures;
        return new NodeStatusMessage
        {
            Site = _node.Site,
            Node = _node.Id,
            State = state,
            Time = now,
            Firmware = FirmwareVersion,
            Started = _started,
            UptimeSeconds = (now - _started).TotalSeconds,
            Location = new GeoLocation(_node.Location.Latitude, _node.Location.Longitude, _node.Location.Altitude),
            Sensors = sensors.Slots.Select(s => s.Snapshot()).ToArray(),
            Outbox = new OutboxStatus
            {
                Queued = figures.Queued,
                Bytes = figures.Bytes,
                Dropped = figures.Dropped,
                CorruptRecords = figures.CorruptRecords,
            },
            Broker = broker,
        };
    }
}
