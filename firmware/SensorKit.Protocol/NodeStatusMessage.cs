namespace SensorKit.Protocol;

/// <summary>The retained node status (docs/protocol.md, "status"): birth, clean offline, and the will.</summary>
public sealed record NodeStatusMessage
{
    public const string Schema = "sensorkit.status.v1";

    public required string Site { get; init; }
    public required string Node { get; init; }

    /// <summary>online, offline (clean stop) or lost (the broker published the will).</summary>
    public required NodeState State { get; init; }

    public required DateTimeOffset Time { get; init; }
    public string? Firmware { get; init; }
    public DateTimeOffset? Started { get; init; }
    public double? UptimeSeconds { get; init; }
    public GeoLocation? Location { get; init; }
    public IReadOnlyList<SensorStatus> Sensors { get; init; } = [];

    /// <summary>The node's store-and-forward outbox; absent in a last will built before the node knew it.</summary>
    public OutboxStatus? Outbox { get; init; }

    /// <summary>The broker the node is connected to (in the will: the one it registered the will with), e.g. mqtts://10.0.0.2:8883.</summary>
    public string? Broker { get; init; }
}

/// <summary>How much the node holds back and what it lost (docs/protocol.md, "node status").</summary>
public sealed record OutboxStatus
{
    /// <summary>Messages waiting for the broker's acknowledgement.</summary>
    public required long Queued { get; init; }

    /// <summary>Disk the outbox takes.</summary>
    public required long Bytes { get; init; }

    /// <summary>Messages dropped since the node started: the oldest telemetry when the outbox was full, or records past its age bound.</summary>
    public required long Dropped { get; init; }

    /// <summary>Torn or damaged records found (and cut off) when the node started.</summary>
    public required long CorruptRecords { get; init; }
}

public enum NodeState
{
    Online,
    Offline,
    Lost,
}

public sealed record GeoLocation(double Latitude, double Longitude, double? Altitude);

public sealed record SensorStatus
{
    public required string Id { get; init; }
    public required string Type { get; init; }
    public required int Bus { get; init; }
    public required int Address { get; init; }
    public required SensorHealth Health { get; init; }
    public int ConsecutiveFailures { get; init; }
    public string? LastError { get; init; }
}

/// <summary>ok: reads succeed. degraded: some recent reads failed. failed: reads keep failing and are retried with backoff.</summary>
public enum SensorHealth
{
    Ok,
    Degraded,
    Failed,
}
