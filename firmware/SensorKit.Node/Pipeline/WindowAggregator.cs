using SensorKit.Protocol;

namespace SensorKit.Node.Pipeline;

/// <summary>
/// Tumbling-window statistics for one channel, aligned to multiples of the window length since
/// the Unix epoch, so windows of different nodes line up. Mean and variance use Welford's update
/// (Knuth, TAOCP vol. 2, §4.2.2), which stays exact where a naive sum of squares cancels
/// (pressure near 100 000 Pa with 0.01 Pa noise). Allocation-free: all state is in fields.
/// </summary>
public sealed class WindowAggregator
{
    private readonly long _windowTicks;
    private readonly int _expected;
    private readonly double _rangeMin;
    private readonly double _rangeMax;

    private long _start = long.MinValue;
    private int _count;
    private int _errors;
    private bool _outOfRange;
    private double _mean;
    private double _m2;
    private double _min;
    private double _max;
    private double _first;
    private double _last;

    public WindowAggregator(TimeSpan window, TimeSpan sampleInterval, double rangeMin = double.NegativeInfinity, double rangeMax = double.PositiveInfinity)
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
        _rangeMin = rangeMin;
        _rangeMax = rangeMax;
    }

    public TimeSpan Window => TimeSpan.FromTicks(_windowTicks);

    /// <summary>Adds a reading; returns true and the previous window when this reading closed it.</summary>
    public bool Add(DateTimeOffset time, double value, out WindowAggregate closed)
    {
        bool didClose = Roll(time, out closed);
        if (!double.IsFinite(value))
        {
            // NaN or infinity is a read error, never averaged in.
            _errors++;
            return didClose;
        }

        if (value < _rangeMin || value > _rangeMax)
        {
            _errors++;
            _outOfRange = true;
            return didClose;
        }

        if (_count == 0)
        {
            _min = _max = _first = value;
        }
        else
        {
            _min = Math.Min(_min, value);
            _max = Math.Max(_max, value);
        }

        _count++;
        _last = value;
        double delta = value - _mean;
        _mean += delta / _count;
        _m2 += delta * (value - _mean);
        return didClose;
    }

    /// <summary>Counts a failed read in the window it happened in.</summary>
    public bool AddError(DateTimeOffset time, out WindowAggregate closed)
    {
        bool didClose = Roll(time, out closed);
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

    private bool Roll(DateTimeOffset time, out WindowAggregate closed)
    {
        closed = default;
        long t = time.UtcTicks;
        long start = t - (t % _windowTicks);
        if (start == _start)
        {
            return false;
        }

        // A new window (or a clock that jumped backwards): close what we have and start over.
        bool emitted = _start != long.MinValue && TryClose(out closed);
        _start = start;
        return emitted;
    }

    private bool TryClose(out WindowAggregate closed)
    {
        closed = default;
        bool any = _count > 0;
        if (any)
        {
            QualityFlags flags = QualityFlags.None;
            if (_count < _expected)
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

            // Population standard deviation of the window's samples.
            double stdDev = _count > 1 ? Math.Sqrt(Math.Max(0, _m2 / _count)) : 0;
            closed = new WindowAggregate(
                new DateTimeOffset(_start, TimeSpan.Zero),
                new DateTimeOffset(_start + _windowTicks, TimeSpan.Zero),
                _count,
                _expected,
                _errors,
                _min,
                _max,
                Math.Clamp(_mean, _min, _max),
                stdDev,
                _first,
                _last,
                flags);
        }

        _count = 0;
        _errors = 0;
        _outOfRange = false;
        _mean = 0;
        _m2 = 0;
        return any;
    }
}
