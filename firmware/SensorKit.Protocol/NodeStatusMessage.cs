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
