using SensorKit.Protocol;

namespace SensorKit.Node.Pipeline;

/// <summary>
/// The summary of one channel over one tumbling window: what leaves the pipeline. Min, max, mean,
/// standard deviation, first, last and the slope describe the values after the channel's filters;
/// <see cref="RawMean"/> is the mean of the readings before them.
/// </summary>
public readonly record struct WindowAggregate(
    DateTimeOffset Start,
    DateTimeOffset End,
    int Count,
    int Expected,
    int Errors,
    double Min,
    double Max,
    double Mean,
    double StdDev,
    double First,
    double Last,
    QualityFlags Flags)
{
    /// <summary>Readings a deadband filter held back: read fine, not passed on.</summary>
    public int Suppressed { get; init; }

    /// <summary>Mean of the valid readings before any filter; NaN when the window had none.</summary>
    public double RawMean { get; init; } = double.NaN;

    /// <summary>Least-squares slope of the values over time, per hour; NaN with fewer than two samples.</summary>
    public double RatePerHour { get; init; } = double.NaN;

    /// <summary>True when a configured calibration (offset, scale) changed the values.</summary>
    public bool Calibrated { get; init; }

    /// <summary>True when filters shape the values, so <see cref="RawMean"/> carries information.</summary>
    public bool Filtered { get; init; }
}

/// <summary>Where closed windows go: the output contract of the pipeline.</summary>
public interface IAggregateSink
{
    void Accept(ChannelId channel, in WindowAggregate aggregate);
}

/// <summary>Identifies a channel on the wire: sensor id, quantity and unit.</summary>
public sealed record ChannelId(string Sensor, string Quantity, string Unit);
