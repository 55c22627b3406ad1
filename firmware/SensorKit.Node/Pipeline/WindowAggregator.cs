using SensorKit.Protocol;

namespace SensorKit.Node.Pipeline;

/// <summary>
/// Tumbling-window statistics and quality for one channel, aligned to multiples of the window length
/// since the Unix epoch, so windows of different nodes line up. The numbers come from
/// <see cref="WindowStatistics"/>; this class adds the window clock and the quality counters
/// (expected samples, errors, suppressed readings, out of range, stuck, stale).
/// Allocation-free: all state is in fields.
/// </summary>
/// <remarks>
/// A reading is binned by its own timestamp. A clock that steps back inside the current window keeps
/// the window; one that steps back into an earlier window closes the current window (its samples are
/// real) and opens the earlier one afresh.
/// </remarks>
public sealed class WindowAggregator
{
    private const double TicksPerSecond = TimeSpan.TicksPerSecond;

    private readonly long _windowTicks;
    private readonly long _staleTicks;
    private readonly int _expected;
    private readonly double _rangeMin;
    private readonly double _rangeMax;

    private long _start = long.MinValue;
    private WindowStatistics _stats;
    private int _rawCount;
    private double _rawShift;   // the window's first raw reading; the sum runs over (raw − shift)
    private double _rawSum;
    private int _errors;
    private int _suppressed;
    private long _lastSeen;
    private bool _outOfRange;
    private bool _stuck;

    /// <param name="window">Length of the tumbling window.</param>
    /// <param name="sampleInterval">The schedule; gives the expected sample count.</param>
    /// <param name="rangeMin">Values below are rejected as out of range (the chip's measuring range).</param>
    /// <param name="rangeMax">Values above are rejected as out of range.</param>
    /// <param name="staleAfter">A window whose newest reading is older than this at its end is flagged stale; default two sample intervals.</param>
    public WindowAggregator(
        TimeSpan window,
        TimeSpan sampleInterval,
        double rangeMin = double.NegativeInfinity,
        double rangeMax = double.PositiveInfinity,
        TimeSpan? staleAfter = null)
    {
        if (window <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, "window must be positive");
        }

        if (sampleInterval <= TimeSpan.Zero || sampleInterval > window)
        {
            throw new ArgumentOutOfRangeException(nameof(sampleInterval), sampleInterval, "interval must be positive and not longer than the window");
        }

        _windowTicks = window.Ticks;
        _expected = (int)(window.Ticks / sampleInterval.Ticks);
        _staleTicks = (staleAfter ?? (sampleInterval * 2)).Ticks;
        _rangeMin = rangeMin;
        _rangeMax = rangeMax;
    }

    public TimeSpan Window => TimeSpan.FromTicks(_windowTicks);

    /// <summary>Samples the schedule puts into one window.</summary>
    public int Expected => _expected;

    /// <summary>Set when a calibration filter shapes this channel's values; carried on every aggregate.</summary>
    public bool Calibrated { get; init; }

    /// <summary>Set when any filter shapes this channel's values; carried on every aggregate.</summary>
    public bool Filtered { get; init; }

    /// <summary>Adds an unfiltered reading; returns true and the previous window when this reading closed it.</summary>
    public bool Add(DateTimeOffset time, double value, out WindowAggregate closed)
    {
        long ticks = time.UtcTicks;
        bool didClose = Advance(ticks, out closed);
        if (!double.IsFinite(value))
        {
            // NaN or infinity is a read error, never averaged in.
            _errors++;
            return didClose;
        }

        if (value < _rangeMin || value > _rangeMax)
        {
            AddRejected(outOfRange: true);
            return didClose;
        }

        AddRaw(value);
        AddValue(ticks, value);
        return didClose;
    }

    /// <summary>Counts a failed read in the window it happened in.</summary>
    public bool AddError(DateTimeOffset time, out WindowAggregate closed)
    {
        bool didClose = Advance(time.UtcTicks, out closed);
        _errors++;
        return didClose;
    }

    /// <summary>Closes the window if <paramref name="now"/> is past its end (a sensor that went quiet).</summary>
    public bool Flush(DateTimeOffset now, out WindowAggregate closed)
    {
        closed = default;
        if (_start == long.MinValue || now.UtcTicks < _start + _windowTicks)
        {
            return false;
        }

        bool emitted = TryClose(out closed);
        _start = long.MinValue;
        return emitted;
    }

    /// <summary>Moves to the window that holds <paramref name="ticks"/>; true and the old window when one closed.</summary>
    internal bool Advance(long ticks, out WindowAggregate closed)
    {
        closed = default;
        if (_start != long.MinValue && ticks >= _start && ticks - _start < _windowTicks)
        {
            // Still in the open window: the common case, without a 64-bit division.
            return false;
        }

        long start = ticks - (ticks % _windowTicks);
        if (start == _start)
        {
            return false;
        }

        bool emitted = _start != long.MinValue && TryClose(out closed);
        _start = start;
        return emitted;
    }

    /// <summary>A valid reading before filters: feeds the raw mean only.</summary>
    internal void AddRaw(double raw)
    {
        if (_rawCount++ == 0)
        {
            _rawShift = raw;
        }

        // A plain sum of small deviations: one addition per reading, no division on the dependency chain.
        _rawSum += raw - _rawShift;
    }

    /// <summary>A value that passed the filters; <see cref="Advance"/> must have been called for its time.</summary>
    internal void AddValue(long ticks, double value)
    {
        _stats.Add((ticks - _start) / TicksPerSecond, value);
        _lastSeen = ticks;
    }

    /// <summary>A reading a deadband held back: it was read fine, so it counts against gaps and staleness.</summary>
    internal void AddSuppressed(long ticks)
    {
        _suppressed++;
        _lastSeen = ticks;
    }

    /// <summary>A reading a range check rejected (or a non-finite one): an error.</summary>
    internal void AddRejected(bool outOfRange)
    {
        _errors++;
        _outOfRange |= outOfRange;
    }

    /// <summary>A range check clamped a value: kept, but the window is flagged.</summary>
    internal void MarkOutOfRange() => _outOfRange = true;

    /// <summary>The reading repeated for longer than noise allows.</summary>
    internal void MarkStuck() => _stuck = true;

    private bool TryClose(out WindowAggregate closed)
    {
        closed = default;
        int count = _stats.Count;
        if (count > 0)
        {
            long end = _start + _windowTicks;
            QualityFlags flags = QualityFlags.None;
            if (count + _suppressed < _expected)
            {
                flags |= QualityFlags.Gaps;
            }

            if (_errors > 0)
            {
                flags |= QualityFlags.ReadErrors;
            }

            if (_outOfRange)
            {
                flags |= QualityFlags.OutOfRange;
            }

            if (_stuck)
            {
                flags |= QualityFlags.Stuck;
            }

            if (end - _lastSeen > _staleTicks)
            {
                flags |= QualityFlags.Stale;
            }

            closed = new WindowAggregate(
                new DateTimeOffset(_start, TimeSpan.Zero),
                new DateTimeOffset(end, TimeSpan.Zero),
                count,
                _expected,
                _errors,
                _stats.Min,
                _stats.Max,
                _stats.Mean,
                _stats.StdDev,
                _stats.First,
                _stats.Last,
                flags)
            {
                Suppressed = _suppressed,
                RawMean = _rawCount > 0 ? _rawShift + (_rawSum / _rawCount) : double.NaN,
                RatePerHour = _stats.Slope * 3600,
                Calibrated = Calibrated,
                Filtered = Filtered,
            };
        }

        _stats.Reset();
        _rawCount = 0;
        _rawSum = 0;
        _errors = 0;
        _suppressed = 0;
        _outOfRange = false;
        _stuck = false;
        return count > 0;
    }
}
