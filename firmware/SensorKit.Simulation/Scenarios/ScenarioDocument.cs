using System.Text.Json.Serialization;

namespace SensorKit.Simulation.Scenarios;

/// <summary>
/// The scenario file format (docs/scenarios.md): physical signals per node, sensor and quantity
/// over scenario time, built from segments, with seeded noise and scheduled faults.
/// </summary>
public sealed class ScenarioDocument
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public TimeSpan? Duration { get; set; }
    public List<SignalDocument> Signals { get; set; } = [];
    public List<FaultDocument> Faults { get; set; } = [];
}

public sealed class SignalDocument
{
    /// <summary>A node id, or "*" for every node.</summary>
    public string Node { get; set; } = "*";

    /// <summary>A sensor id or type, or "*".</summary>
    public string Sensor { get; set; } = "*";

    public string? Quantity { get; set; }
    public List<SegmentDocument> Segments { get; set; } = [];
    public NoiseDocument? Noise { get; set; }
}

/// <summary>
/// One piece of a signal, starting at <see cref="At"/>. Kinds: constant (value), ramp (value → to
/// over duration), step (value before at, to from at on), sine (mean, amplitude, period, peakAt).
/// </summary>
public sealed class SegmentDocument
{
    public string? Kind { get; set; }
    public TimeSpan At { get; set; }
    public TimeSpan? Duration { get; set; }
    public double? Value { get; set; }
    public double? To { get; set; }
    public double? Mean { get; set; }
    public double? Amplitude { get; set; }
    public TimeSpan? Period { get; set; }

    /// <summary>Scenario time of a sine's maximum (e.g. 16:00 for a diurnal temperature cycle).</summary>
    public TimeSpan? PeakAt { get; set; }
}

public sealed class NoiseDocument
{
    public double StdDev { get; set; }
    public int Seed { get; set; }
}

public sealed class FaultDocument
{
    public string Node { get; set; } = "*";
    public string Sensor { get; set; } = "*";

    /// <summary>nack, absent, stuck, crc, out-of-range, slow.</summary>
    public string? Kind { get; set; }
    public TimeSpan At { get; set; }
    public TimeSpan? Duration { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(ScenarioDocument))]
internal sealed partial class ScenarioJsonContext : JsonSerializerContext;
