using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Sensors;
using SensorKit.Protocol;

namespace SensorKit.Node.Sampling;

/// <summary>The runtime state of one configured sensor: its driver, its channels, and its health.</summary>
public sealed class SensorSlot
{
    /// <summary>Consecutive failures from which a sensor counts as failed and is retried with backoff.</summary>
    public const int FailedAfter = 3;

    internal SensorSlot(SensorOptions options, SensorType type, int address, NodeOptions node)
    {
        Id = options.EffectiveId;
        Type = type;
        Bus = options.Bus;
        Address = address;
        Interval = options.Interval;
        Options = options;
        IReadOnlyList<ChannelSpec> channels = type.ChannelsFor(options);
        Pipeline = PipelineFactory.Build(Id, channels, options, node);
        Channels = Pipeline.Channels.Where(c => c.Publish).Select(c => c.Id).ToArray();
        Values = new double[channels.Count];
    }

    public SensorOptions Options { get; }
    public string Id { get; }
    public SensorType Type { get; }
    public int Bus { get; }
    public int Address { get; }
    public TimeSpan Interval { get; }
    /// <summary>The published channels: measured, then derived.</summary>
    public IReadOnlyList<ChannelId> Channels { get; }
    internal SensorPipeline Pipeline { get; }
    internal double[] Values { get; }
    internal ISensorAdapter? Adapter { get; set; }
    internal DateTimeOffset NextAttempt { get; set; }

    public SensorHealth Health { get; private set; } = SensorHealth.Ok;
    public int ConsecutiveFailures { get; private set; }
    public string? LastError { get; private set; }
    public long Reads { get; private set; }
    public long Failures { get; private set; }

    /// <summary>Records a successful read; true when health changed.</summary>
    internal bool Succeeded()
    {
        Reads++;
        SensorHealth before = Health;
        ConsecutiveFailures = 0;
        Health = SensorHealth.Ok;
        return before != Health;
    }

    /// <summary>Records a failed read; true when health changed.</summary>
    internal bool Failed(string error)
    {
        Reads++;
        Failures++;
        SensorHealth before = Health;
        ConsecutiveFailures++;
        LastError = error;
        Health = ConsecutiveFailures >= FailedAfter ? SensorHealth.Failed : SensorHealth.Degraded;
        return before != Health;
    }

    /// <summary>
    /// Exponential backoff once failed: interval × 2^(n − FailedAfter), capped, so a missing sensor
    /// costs almost no bus time but is found again within <paramref name="cap"/> when it returns.
    /// </summary>
    internal TimeSpan Backoff(TimeSpan cap)
    {
        if (ConsecutiveFailures < FailedAfter)
        {
            return TimeSpan.Zero;
        }

        int exponent = Math.Min(ConsecutiveFailures - FailedAfter, 20);
        double ticks = Math.Min(Interval.Ticks * Math.Pow(2, exponent), cap.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    public SensorStatus Snapshot() => new()
    {
        Id = Id,
        Type = Type.Name,
        Bus = Bus,
        Address = Address,
        Health = Health,
        ConsecutiveFailures = ConsecutiveFailures,
        LastError = Health == SensorHealth.Ok ? null : LastError,
    };
}
