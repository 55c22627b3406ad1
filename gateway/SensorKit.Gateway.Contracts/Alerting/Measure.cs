namespace SensorKit.Gateway.Contracts;

/// <summary>What a condition compares with its thresholds.</summary>
public enum Measure
{
    /// <summary>The window mean itself.</summary>
    Value,

    /// <summary>The latest window mean minus the oldest one inside the rule's window.</summary>
    Change,

    /// <summary>Percent deviation of the window mean from the mean of a rolling baseline.</summary>
    Deviation,
}
