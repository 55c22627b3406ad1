namespace SensorKit.Node.Pipeline;

/// <summary>What a filter did with a value.</summary>
public enum FilterOutcome
{
    /// <summary>The value goes on (possibly changed).</summary>
    Pass,

    /// <summary>Passed on, but clamped into range: the window is flagged out of range.</summary>
    Clamped,

    /// <summary>Held back by a deadband: a good reading that changed too little to pass on.</summary>
    Suppressed,

    /// <summary>Rejected as out of range: counted as an error, never averaged in.</summary>
    Rejected,
}

/// <summary>
/// One step of a channel's filter chain. Filters see only finite values (non-finite readings are
/// errors before the chain), keep their state in preallocated fields, and never allocate per value.
/// </summary>
public abstract class SampleFilter
{
    /// <summary>Filters <paramref name="value"/> in place.</summary>
    public abstract FilterOutcome Apply(ref double value);

    /// <summary>Forgets history, e.g. after a gap or a clock step, so a window never spans one.</summary>
    public virtual void Reset()
    {
    }
}

/// <summary>Range check: rejects a value outside [min, max], or clamps it into the range.</summary>
public sealed class RangeFilter : SampleFilter
{
    private readonly double _min;
    private readonly double _max;
    private readonly bool _clamp;

    public RangeFilter(double min, double max, bool clamp)
    {
        if (!(min < max))
        {
            throw new ArgumentOutOfRangeException(nameof(min), min, "min must be below max");
        }

        (_min, _max, _clamp) = (min, max, clamp);
    }

    public override FilterOutcome Apply(ref double value)
    {
        if (value >= _min && value <= _max)
        {
            return FilterOutcome.Pass;
        }

        if (!_clamp)
        {
            return FilterOutcome.Rejected;
        }

        value = value < _min ? _min : _max;
        return FilterOutcome.Clamped;
    }
}

/// <summary>
/// Median of the last N values (N odd): a spike of up to (N − 1)/2 readings never reaches the output,
/// because it can never be the middle value (Tukey, Exploratory Data Analysis, 1977, ch. 7, running
/// medians). Until N values have arrived it gives the median of those it has.
/// For N of 3 and 5 a selection network picks the median from the ring; for larger N a sorted copy of
/// the window is kept beside the ring, where each value replaces the oldest and moves to its rank by insertion.
/// </summary>
public sealed class MedianFilter : SampleFilter
{
    private readonly double[] _ring;
    private readonly double[] _sorted;
    private int _count;
    private int _next;

    public MedianFilter(int size)
    {
        if (size < 3 || size % 2 == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "a median needs an odd size of at least 3");
        }

        _ring = new double[size];
        _sorted = new double[size];
    }

    public override FilterOutcome Apply(ref double value)
    {
        if (_count == _ring.Length && _ring.Length <= 5)
        {
            // The usual sizes: a branchless selection network on the ring itself, no sorted copy.
            _ring[_next] = value;
            if (++_next == _ring.Length)
            {
                _next = 0;
            }

            value = _ring.Length == 3 ? Median3(_ring[0], _ring[1], _ring[2]) : Median5(_ring[0], _ring[1], _ring[2], _ring[3], _ring[4]);
            return FilterOutcome.Pass;
        }

        double[] sorted = _sorted;
        int at;
        if (_count == _ring.Length)
        {
            // The slot of the oldest value takes the new one.
            double oldest = _ring[_next];
            at = 0;
            while (at < _count - 1 && sorted[at] != oldest)
            {
                at++;
            }
        }
        else
        {
            at = _count++;
        }

        // Move the new value to its rank: left past larger values, or right past smaller ones.
        while (at > 0 && sorted[at - 1] > value)
        {
            sorted[at] = sorted[at - 1];
            at--;
        }

        while (at < _count - 1 && sorted[at + 1] < value)
        {
            sorted[at] = sorted[at + 1];
            at++;
        }

        sorted[at] = value;
        _ring[_next] = value;
        if (++_next == _ring.Length)
        {
            _next = 0;
        }

        int mid = _count / 2;
        value = (_count & 1) == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return FilterOutcome.Pass;
    }

    public override void Reset()
    {
        _count = 0;
        _next = 0;
    }

    // MinNative/MaxNative are single instructions; the IEEE NaN and −0 rules of Math.Min do not matter for finite readings.
    private static double Median3(double a, double b, double c) => double.MaxNative(double.MinNative(a, b), double.MinNative(double.MaxNative(a, b), c));

    // Paeth's median-of-5 network (Graphics Gems, 1990, as in Devillard, "Fast median search", 1998): 7 compare-exchanges.
    private static double Median5(double p0, double p1, double p2, double p3, double p4)
    {
        Sort(ref p0, ref p1);
        Sort(ref p3, ref p4);
        Sort(ref p0, ref p3);
        Sort(ref p1, ref p4);
        Sort(ref p1, ref p2);
        Sort(ref p2, ref p3);
        Sort(ref p1, ref p2);
        return p2;
    }

    private static void Sort(ref double a, ref double b)
    {
        double low = double.MinNative(a, b);
        b = double.MaxNative(a, b);
        a = low;
    }
}

/// <summary>
/// Simple moving average of the last N values. The sum is taken afresh over the N values each time
/// (N is small), so no rounding error accumulates over months of running.
/// </summary>
public sealed class MovingAverageFilter : SampleFilter
{
    private readonly double[] _ring;
    private int _count;
    private int _next;

    public MovingAverageFilter(int size)
    {
        if (size < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "a moving average needs at least 2 values");
        }

        _ring = new double[size];
    }

    public override FilterOutcome Apply(ref double value)
    {
        _ring[_next] = value;
        if (++_next == _ring.Length)
        {
            _next = 0;
        }

        _count = Math.Min(_count + 1, _ring.Length);

        // Mean of the values relative to the newest one: exact for a large offset with small changes.
        double reference = value;
        double sum = 0;
        ReadOnlySpan<double> window = _ring.AsSpan(0, _count);
        foreach (double v in window)
        {
            sum += v - reference;
        }

        value = reference + (sum / _count);
        return FilterOutcome.Pass;
    }

    public override void Reset()
    {
        _count = 0;
        _next = 0;
    }
}

/// <summary>Exponential moving average y ← y + α(x − y); the first value starts it.</summary>
public sealed class ExponentialAverageFilter : SampleFilter
{
    private readonly double _alpha;
    private double _state;
    private bool _started;

    public ExponentialAverageFilter(double alpha)
    {
        if (!(alpha > 0 && alpha <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in (0, 1]");
        }

        _alpha = alpha;
    }

    public override FilterOutcome Apply(ref double value)
    {
        _state = _started ? _state + (_alpha * (value - _state)) : value;
        _started = true;
        value = _state;
        return FilterOutcome.Pass;
    }

    public override void Reset() => _started = false;
}

/// <summary>
/// Deadband (report by exception): a value passes only when it differs from the last value passed
/// by at least <c>delta</c>; the others are suppressed (counted, not errors).
/// </summary>
public sealed class DeadbandFilter : SampleFilter
{
    private readonly double _delta;
    private double _lastPassed;
    private bool _started;

    public DeadbandFilter(double delta)
    {
        if (!(delta > 0) || !double.IsFinite(delta))
        {
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "delta must be a positive number");
        }

        _delta = delta;
    }

    /// <summary>The value a suppressed reading is taken to be: the last one passed.</summary>
    public double Held => _lastPassed;

    public override FilterOutcome Apply(ref double value)
    {
        if (_started && Math.Abs(value - _lastPassed) < _delta)
        {
            value = _lastPassed;
            return FilterOutcome.Suppressed;
        }

        _started = true;
        _lastPassed = value;
        return FilterOutcome.Pass;
    }

    public override void Reset() => _started = false;
}

/// <summary>Linear calibration y = scale·x + offset, from a two-point check against a reference instrument.</summary>
public sealed class CalibrationFilter : SampleFilter
{
    private readonly double _scale;
    private readonly double _offset;

    public CalibrationFilter(double scale, double offset)
    {
        if (!double.IsFinite(scale) || scale == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be a finite, non-zero number");
        }

        if (!double.IsFinite(offset))
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "offset must be finite");
        }

        (_scale, _offset) = (scale, offset);
    }

    public override FilterOutcome Apply(ref double value)
    {
        value = (_scale * value) + _offset;
        return FilterOutcome.Pass;
    }
}

/// <summary>
/// The configured filters of one channel, applied in order. The first filter that does not pass a
/// value ends the chain for it; after a suppressed value the channel's output stays what it was.
/// </summary>
public sealed class FilterChain
{
    private readonly SampleFilter[] _filters;

    public FilterChain(IEnumerable<SampleFilter> filters)
    {
        _filters = filters.ToArray();
        Calibrated = _filters.Any(f => f is CalibrationFilter);
    }

    public static FilterChain Empty { get; } = new([]);

    public int Length => _filters.Length;

    public bool Calibrated { get; }

    public FilterOutcome Apply(ref double value)
    {
        bool clamped = false;
        foreach (SampleFilter filter in _filters)
        {
            FilterOutcome outcome = filter.Apply(ref value);
            if (outcome == FilterOutcome.Clamped)
            {
                clamped = true;
            }
            else if (outcome != FilterOutcome.Pass)
            {
                return outcome;
            }
        }

        return clamped ? FilterOutcome.Clamped : FilterOutcome.Pass;
    }

    public void Reset()
    {
        foreach (SampleFilter filter in _filters)
        {
            filter.Reset();
        }
    }
}
