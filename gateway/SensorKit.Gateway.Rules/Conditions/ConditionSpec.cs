namespace SensorKit.Gateway.Rules;

/// <summary>One compiled condition: a measure of one quantity against one threshold per level.</summary>
internal sealed record ConditionSpec
{
    public required string Quantity { get; init; }

    public string Sensor { get; init; } = "*";

    /// <summary>The kind of rule the condition's measure comes from.</summary>
    public required RuleKind Kind { get; init; }

    /// <summary>True when the measure must be at or above the thresholds, false for at or below.</summary>
    public required bool Above { get; init; }

    /// <summary>Signed thresholds in the measure's unit, level 1 first, each beyond the previous one.</summary>
    public required double[] Thresholds { get; init; }

    public double Hysteresis { get; init; }

    public TimeSpan Hold { get; init; }

    /// <summary>Consecutive windows beyond a threshold before its level is raised.</summary>
    public int MinWindows { get; init; } = 1;

    public TimeSpan Window { get; init; }

    public TimeSpan Baseline { get; init; }

    public TimeSpan MinBaseline { get; init; }

    public bool MatchesSensor(string sensor) => Sensor == "*" || Sensor == sensor;

    public bool IsBeyond(double measure, int level) => Above ? measure >= Thresholds[level] : measure <= Thresholds[level];
}
