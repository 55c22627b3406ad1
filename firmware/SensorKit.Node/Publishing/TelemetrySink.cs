using Microsoft.Extensions.Options;
using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Protocol;

namespace SensorKit.Node.Publishing;

/// <summary>Turns closed windows into telemetry messages with a per-node sequence number and queues them.</summary>
public sealed class TelemetrySink(IOptions<NodeOptions> options, IOutbox outbox, SequenceCounter sequence) : IAggregateSink, IDisposable
{
    private readonly NodeOptions _node = options.Value;
    private readonly PayloadBuffer _buffer = new();
    private readonly Lock _lock = new();

    /// <summary>Raised for every aggregate queued; the demo's live view and tests watch it.</summary>
    public event Action<TelemetryMessage>? Produced;

    public void Accept(ChannelId channel, in WindowAggregate aggregate)
    {
        WindowAggregate a = aggregate;
        TelemetryMessage message;
        OutboxMessage queued;
        lock (_lock)
        {
            message = new TelemetryMessage
            {
                Site = _node.Site,
                Node = _node.Id,
                Sensor = channel.Sensor,
                Quantity = channel.Quantity,
                Unit = channel.Unit,
                Sequence = sequence.Next(),
                WindowStart = a.Start,
                WindowEnd = a.End,
                Count = a.Count,
                Expected = a.Expected,
                Errors = a.Errors,
                Min = a.Min,
                Max = a.Max,
                Mean = a.Mean,
                StdDev = a.StdDev,
                First = a.First,
                Last = a.Last,
                RatePerHour = double.IsFinite(a.RatePerHour) ? a.RatePerHour : null,
                RawMean = a.Filtered && double.IsFinite(a.RawMean) ? a.RawMean : null,
                Suppressed = a.Suppressed,
                Calibrated = a.Calibrated,
                Flags = a.Flags,
            };
            byte[] payload = _buffer.Telemetry(message).ToArray();
            queued = new OutboxMessage(
                OutboxKind.Telemetry,
                message.Sequence,
                Topics.Telemetry(_node.Site, _node.Id, channel.Sensor, channel.Quantity),
                payload,
                Retain: true);
        }

        outbox.Enqueue(queued);
        Produced?.Invoke(message);
    }

    public void Dispose() => _buffer.Dispose();
}

/// <summary>The node's message sequence: monotonically increasing, starting above the last one issued.</summary>
public sealed class SequenceCounter
{
    private long _last;

    public SequenceCounter(long last = 0) => _last = last;

    public long Next() => Interlocked.Increment(ref _last);
}
