using System.Text.Json;
using SensorKit.Node.Configuration;
using SensorKit.Simulation.Emulators;

namespace SensorKit.Simulation.Scenarios;

/// <summary>A scenario file that failed to load: names the file, the JSON path or line, and the reason.</summary>
public sealed class ScenarioException : ConfigurationException
{
    public ScenarioException(string message)
        : base(message)
    {
    }

    public ScenarioException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ScenarioException()
    {
    }
}

/// <summary>A loaded, validated scenario, ready to drive emulators.</summary>
public sealed class Scenario
{
    private Scenario(string name, ScenarioDocument doc, IReadOnlyList<Signal> signals, IReadOnlyList<ScheduledFault> faults)
    {
        Name = name;
        Description = doc.Description ?? string.Empty;
        Duration = doc.Duration;
        Signals = signals;
        Faults = faults;
    }

    public string Name { get; }
    public string Description { get; }
    public TimeSpan? Duration { get; }
    public IReadOnlyList<Signal> Signals { get; }
    public IReadOnlyList<ScheduledFault> Faults { get; }

    public static Scenario Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ScenarioException($"{path}: cannot read scenario file: {e.Message}");
        }

        return Parse(json, path);
    }

    public static Scenario Parse(string json, string source)
    {
        ScenarioDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(json, ScenarioJsonContext.Default.ScenarioDocument);
        }
        catch (JsonException e)
        {
            // System.Text.Json reports a zero-based line; editors count from 1.
            string where = e.LineNumber is { } line ? $"line {line + 1}, path {e.Path}" : $"path {e.Path}";
            throw new ScenarioException($"{source}: {where}: {e.Message}");
        }

        if (doc is null)
        {
            throw new ScenarioException($"{source}: empty scenario");
        }

        var signals = new List<Signal>();
        for (int i = 0; i < doc.Signals.Count; i++)
        {
            signals.Add(Signal.From(doc.Signals[i], $"{source}: signals[{i}]"));
        }

        var faults = new List<ScheduledFault>();
        for (int i = 0; i < doc.Faults.Count; i++)
        {
            faults.Add(ScheduledFault.From(doc.Faults[i], $"{source}: faults[{i}]"));
        }

        return new Scenario(doc.Name ?? Path.GetFileNameWithoutExtension(source), doc, signals, faults);
    }

    /// <summary>Connects the signals and faults that apply to one chip to its emulator.</summary>
    public void Apply(ChipEmulator chip, string node, string sensorId, string sensorType, Func<TimeSpan> clock)
    {
        foreach (Signal s in Signals.Where(s => s.Matches(node, sensorId, sensorType) && chip.Quantities.Contains(s.Quantity)))
        {
            chip.Drive(s.Quantity, () => s.At(clock()));
        }

        ScheduledFault[] faults = Faults.Where(f => f.Matches(node, sensorId, sensorType)).ToArray();
        if (faults.Length > 0)
        {
            chip.ScheduledFaults = () =>
            {
                TimeSpan t = clock();
                ChipFault active = ChipFault.None;
                foreach (ScheduledFault f in faults)
                {
                    if (t >= f.At && (f.Duration is null || t < f.At + f.Duration))
                    {
                        active |= f.Fault;
                    }
                }

                return active;
            };
        }
    }
}

/// <summary>A fault from the scenario's schedule.</summary>
public sealed record ScheduledFault(string Node, string Sensor, ChipFault Fault, TimeSpan At, TimeSpan? Duration)
{
    internal static ScheduledFault From(FaultDocument d, string path)
    {
        ChipFault fault = d.Kind switch
        {
            "nack" => ChipFault.Nack,
            "absent" => ChipFault.Absent,
            "stuck" => ChipFault.Stuck,
            "crc" => ChipFault.CorruptCrc,
            "out-of-range" => ChipFault.OutOfRange,
            "slow" => ChipFault.Slow,
            _ => throw new ScenarioException($"{path}.kind: '{d.Kind}' is not one of nack, absent, stuck, crc, out-of-range, slow"),
        };
        if (d.Duration is { } dur && dur <= TimeSpan.Zero)
        {
            throw new ScenarioException($"{path}.duration: must be positive");
        }

        return new ScheduledFault(d.Node, d.Sensor, fault, d.At, d.Duration);
    }

    internal bool Matches(string node, string sensorId, string sensorType) =>
        (Node == "*" || Node == node) && (Sensor == "*" || Sensor == sensorId || Sensor == sensorType);
}
