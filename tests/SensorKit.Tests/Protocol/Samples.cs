using SensorKit.Protocol;

namespace SensorKit.Tests.Protocol;

/// <summary>
/// Sample messages for the tests and the benchmarks (linked into both). Telemetry, Status and Alert are fully populated: every
/// optional field set, so round trips cover all of them.
/// </summary>
internal static class Samples
{
    /// <summary>A plain window of six samples without optional extras: what a node sends most of the time.</summary>
    public static TelemetryMessage Window() => new()
    {
        Site = "rhine-cologne",
        Node = "node-1",
        Sensor = "bme280",
        Quantity = Quantities.Temperature,
        Unit = Units.Celsius,
        Sequence = 0,
        WindowStart = new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero),
        WindowEnd = new DateTimeOffset(2026, 7, 1, 12, 1, 0, TimeSpan.Zero),
        Count = 6,
        Expected = 6,
        Min = 31.42,
        Max = 31.61,
        Mean = 31.5,
        StdDev = 0.07,
        First = 31.42,
        Last = 31.61,
    };

    public static TelemetryMessage Telemetry() => Window() with
    {
        Sequence = 4711,
        Count = 5,
        Errors = 1,
        RatePerHour = 1.14,
        RawMean = 31.9,
        Suppressed = 2,
        Calibrated = true,
        Flags = QualityFlags.Gaps | QualityFlags.ReadErrors | QualityFlags.OutOfRange | QualityFlags.Stuck | QualityFlags.Stale,
        Backfill = true,
    };

    public static NodeStatusMessage Status() => new()
    {
        Site = "rhine-cologne",
        Node = "node-1",
        State = NodeState.Online,
        Time = new DateTimeOffset(2026, 7, 1, 12, 0, 3, TimeSpan.Zero),
        Firmware = "0.1.0",
        Started = new DateTimeOffset(2026, 7, 1, 11, 0, 0, TimeSpan.Zero),
        UptimeSeconds = 3603.25,
        Location = new GeoLocation(50.9375, 6.9603, 53),
        Sensors =
        [
            new SensorStatus { Id = "bme280", Type = "bme280", Bus = 1, Address = 0x76, Health = SensorHealth.Degraded, ConsecutiveFailures = 2, LastError = "IOException: no acknowledge" },
        ],
        Outbox = new OutboxStatus { Queued = 12, Bytes = 5120, Dropped = 3, CorruptRecords = 1 },
        Broker = "mqtts://10.0.0.2:8883",
    };

    public static AlertMessage Alert() => new()
    {
        AlertId = "rhine-cologne-heat-node-1-1782907270",
        Rule = "heat",
        State = AlertState.Raised,
        Audience = AlertAudience.Public,
        Site = "rhine-cologne",
        Subject = "node-1",
        Nodes = ["node-1", "node-2"],
        Quantity = "temperature",
        Unit = Units.Celsius,
        Value = 35.4,
        Threshold = 35,
        Hysteresis = 1,
        Severity = "Severe",
        Certainty = "Observed",
        Urgency = "Immediate",
        Headline = "Air temperature at or above 35 °C",
        Time = new DateTimeOffset(2026, 7, 1, 12, 1, 10, 120, TimeSpan.Zero),
        RaisedAt = new DateTimeOffset(2026, 7, 1, 12, 1, 10, TimeSpan.Zero),
        Revision = 1,
        Status = "Exercise",
        Measure = "value",
        Quorum = 2,
        NodesReporting = 3,
        CapIdentifier = "SK-rhine-cologne-heat-node-1-1782907270-1",
    };
}
