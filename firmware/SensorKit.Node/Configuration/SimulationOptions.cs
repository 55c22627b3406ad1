namespace SensorKit.Node.Configuration;

/// <summary>Configuration section "Simulation": run against register-level emulators instead of a real bus.</summary>
public sealed class SimulationOptions
{
    public const string Section = "Simulation";

    public bool Enabled { get; set; }

    /// <summary>A scenario file (docs/scenarios.md) that scripts the physical signals; empty keeps them constant.</summary>
    public string? Scenario { get; set; }

    /// <summary>Scenario seconds per real second: 1 is real time, 60 plays an hour in a minute.</summary>
    public double Speed { get; set; } = 1;

    /// <summary>Where in the scenario to start playing.</summary>
    public TimeSpan StartAt { get; set; }
}
