namespace SensorKit.Node.Configuration;

/// <summary>
/// Configuration section "Node:Sensors:N:Channels:{quantity}": how one channel (measured, derived,
/// or a rate) is filtered, windowed and checked. Every key is optional (docs/pipeline.md).
/// </summary>
public sealed class ChannelOptions
{
    /// <summary>False: the channel is still computed (derived quantities may need it) but not published.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Tumbling window, e.g. 00:00:10, 00:01:00 or 00:10:00; defaults to Node:Window.</summary>
    public TimeSpan? Window { get; set; }

    /// <summary>Applied in this order to every reading.</summary>
    public List<FilterOptions> Filters { get; set; } = [];

    /// <summary>Identical readings in a row from which the channel is flagged stuck; 0 (default) turns the check off.</summary>
    public int StuckAfter { get; set; }

    /// <summary>A window whose newest reading is older than this at its end is flagged stale; defaults to two sample intervals.</summary>
    public TimeSpan? StaleAfter { get; set; }

    /// <summary>Also publish "{quantity}-rate": the least-squares slope over this sliding window (e.g. 00:15:00), in unit per hour.</summary>
    public TimeSpan? Rate { get; set; }
}

/// <summary>
/// Configuration section "Node:Sensors:N:Channels:{quantity}:Filters:M": one step of a filter chain.
/// <see cref="Kind"/> decides which of the other keys apply.
/// </summary>
public sealed class FilterOptions
{
    /// <summary>range, median, moving-average, exponential-average, deadband or calibration.</summary>
    public string Kind { get; set; } = string.Empty;

    /// <summary>range: lower bound.</summary>
    public double? Min { get; set; }

    /// <summary>range: upper bound.</summary>
    public double? Max { get; set; }

    /// <summary>range: clamp into [Min, Max] instead of rejecting.</summary>
    public bool? Clamp { get; set; }

    /// <summary>median (odd, at least 3) and moving-average (at least 2): values in the window.</summary>
    public int? Size { get; set; }

    /// <summary>exponential-average: smoothing factor in (0, 1].</summary>
    public double? Alpha { get; set; }

    /// <summary>deadband: the change a value needs, against the last one passed, to pass.</summary>
    public double? Delta { get; set; }

    /// <summary>calibration: added after scaling (value = Scale·reading + Offset). Default 0.</summary>
    public double? Offset { get; set; }

    /// <summary>calibration: multiplies the reading. Default 1.</summary>
    public double? Scale { get; set; }
}
