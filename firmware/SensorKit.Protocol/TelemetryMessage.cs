namespace SensorKit.Protocol;

/// <summary>
/// One window aggregate of one channel: the payload of a telemetry topic (docs/protocol.md, "telemetry").
/// A value type so the node's pipeline can hand it to the serialiser without allocating.
/// </summary>
public readonly record struct TelemetryMessage
{
    public const string Schema = "sensorkit.telemetry.v1";

    public required string Site { get; init; }
    public required string Node { get; init; }
    public required string Sensor { get; init; }
    public required string Quantity { get; init; }
    public required string Unit { get; init; }

    /// <summary>Per-node sequence number; subscribers deduplicate on (node, seq).</summary>
    public required long Sequence { get; init; }

    public required DateTimeOffset WindowStart { get; init; }
    public required DateTimeOffset WindowEnd { get; init; }

    /// <summary>Samples that went into the aggregate.</summary>
    public required int Count { get; init; }

    /// <summary>Samples the schedule should have produced in the window.</summary>
    public required int Expected { get; init; }

    /// <summary>Failed or rejected reads in the window (NACK, CRC, NaN, out of range).</summary>
    public int Errors { get; init; }

    public required double Min { get; init; }
    public required double Max { get; init; }
    public required double Mean { get; init; }
    public double StdDev { get; init; }
    public required double First { get; init; }
    public required double Last { get; init; }

    /// <summary>Least-squares slope of the window's values over time, in <see cref="Unit"/> per hour; null with fewer than two samples.</summary>
    public double? RatePerHour { get; init; }

    /// <summary>Mean of the readings before the channel's filters; null when the channel has none (then it equals <see cref="Mean"/>).</summary>
    public double? RawMean { get; init; }

    /// <summary>Readings a deadband filter held back in the window: read fine, value unchanged.</summary>
    public int Suppressed { get; init; }

    /// <summary>True when a configured calibration (offset, scale) was applied to the values; false for the sensor's own values.</summary>
    public bool Calibrated { get; init; }

    public QualityFlags Flags { get; init; }

    /// <summary>True when the message is sent late from the node's outbox after an outage.</summary>
    public bool Backfill { get; init; }
}

/// <summary>Why an aggregate may be doubtful. An aggregate with no flags is "good".</summary>
[Flags]
public enum QualityFlags
{
    None = 0,
    /// <summary>Fewer samples than the schedule expects.</summary>
    Gaps = 1,
    /// <summary>Read errors (NACK, CRC, timeout, NaN) happened in the window.</summary>
    ReadErrors = 2,
    /// <summary>Values were outside the sensor's measuring range.</summary>
    OutOfRange = 4,
    /// <summary>The value did not change for many samples where noise is expected.</summary>
    Stuck = 8,
    /// <summary>The window's newest reading is older than the channel's stale limit (default two sample intervals) at the window's end.</summary>
    Stale = 16,
}
