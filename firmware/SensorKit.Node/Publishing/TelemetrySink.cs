using Microsoft.Extensions.Options;
using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Protocol;

namespace SensorKit.Node.Publishing;

/// <summary>
/// Turns closed windows into telemetry messages and appends them to the outbox, which gives each its
/// per-node sequence number (increasing across restarts). An aggregate counts as produced, and
/// <see cref="Produced"/> is raised, only once the outbox has stored it.
/// </summary>
public sealed class TelemetrySink(IOptions<NodeOptions> options, IOutbox outbox) : IAggregateSink, IDisposable
{
    private readonly NodeOptions _node = options.Value;

    // Used only inside the outbox's append, which runs one at a time.
    private readonly PayloadBuffer _buffer = new();
    private long _notStored;

    /// <summary>Raised for every aggregate stored; the demo's live view and tests watch it.</summary>
    public event Action<TelemetryMessage>? Produced;

    /// <summary>Aggregates the outbox could not store (disk full or failing); they are counted in its dropped figure too.</summary>
    public long NotStored => Interlocked.Read(ref _notStored);

    public void Accept(ChannelId channel, in WindowAggregate aggregate)
    {
        var message = new TelemetryMessage
        {
            Site = _node.Site,
            Node = _node.Id,
            Sensor = channel.Sensor,
            Quantity = channel.Quantity,
            Unit = channel.Unit,
            Sequence = 0,
            WindowStart = aggregate.Start,
            WindowEnd = aggregate.End,
            Count = aggregate.Count,
            Expected = aggregate.Expected,
            Errors = aggregate.Errors,
            Min = aggregate.Min,
            Max = aggregate.Max,
            Mean = aggregate.Mean,
            StdDev = aggregate.StdDev,
            First = aggregate.First,
            Last = aggregate.Last,
            RatePerHour = double.IsFinite(aggregate.RatePerHour) ? aggregate.RatePerHour : null,
            RawMean = aggregate.Filtered && double.IsFinite(aggregate.RawMean) ? aggregate.RawMean : null,
            Suppressed = aggregate.Suppressed,
            Calibrated = aggregate.Calibrated,
            Flags = aggregate.Flags,
        };
        string topic = Topics.Telemetry(_node.Site, _node.Id, channel.Sensor, channel.Quantity);
        if (!outbox.TryAppend(OutboxKind.Telemetry, topic, retain: true, (this, message), Serialise, out long sequence))
        {
            Interlocked.Increment(ref _notStored);
            return;
        }

        Produced?.Invoke(message with { Sequence = sequence });
    }

    private static ReadOnlyMemory<byte> Serialise(long sequence, in (TelemetrySink Sink, TelemetryMessage Message) state) =>
        state.Sink._buffer.Telemetry(state.Message with { Sequence = sequence });

    public void Dispose() => _buffer.Dispose();
}
