namespace SensorKit.Node.Pipeline;

/// <summary>
/// A sliding time window over the most recent samples (e.g. the last 15 minutes of water level) and
/// the least-squares slope through them, for rate-of-change detection that does not wait for a
/// tumbling window to close. The ring is sized at start; each slope is computed afresh in two passes
/// over the window (mean, then co-moments), so it is exact and nothing drifts over months.
/// </summary>
public sealed class SlidingTrend
{
    private readonly long _spanTicks;
    private readonly long[] _ticks;
    private readonly double[] _values;
    private int _head;   // oldest
    private int _count;

    /// <param name="span">How far back the window reaches.</param>
    /// <param name="sampleInterval">The schedule; sizes the ring (twice the samples the span holds, for jitter).</param>
    public SlidingTrend(TimeSpan span, TimeSpan sampleInterval)
    {
        if (span <= TimeSpan.Zero || sampleInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(span), span, "span and interval must be positive");
        }

        _spanTicks = span.Ticks;
        int capacity = (int)Math.Min(1_000_000, (2 * span.Ticks / sampleInterval.Ticks) + 4);
        _ticks = new long[capacity];
        _values = new double[capacity];
    }

    public TimeSpan Span => TimeSpan.FromTicks(_spanTicks);

    public int Count => _count;

    /// <summary>Adds a sample and drops those older than the span (or the oldest when the ring is full).</summary>
    public void Add(long ticks, double value)
    {
        if (_count > 0 && ticks < _ticks[Wrap(_head + _count - 1)])
        {
            // The clock stepped back: the old samples no longer lie on the same time line.
            Reset();
        }

        if (_count == _ticks.Length)
        {
            _head = Wrap(_head + 1);
            _count--;
        }

        int at = Wrap(_head + _count);
        _ticks[at] = ticks;
        _values[at] = value;
        _count++;

        long oldestAllowed = ticks - _spanTicks;
        while (_count > 1 && _ticks[_head] < oldestAllowed)
        {
            _head = Wrap(_head + 1);
            _count--;
        }
    }

    /// <summary>
    /// The least-squares slope in value units per hour, once the samples cover at least half the span
    /// (a slope over two samples a few seconds apart is mostly noise); false before that.
    /// </summary>
    public bool TryGetSlopePerHour(out double slopePerHour)
    {
        slopePerHour = double.NaN;
        if (_count < 3)
        {
            return false;
        }

        int newest = Wrap(_head + _count - 1);
        long origin = _ticks[newest];
        if (origin - _ticks[_head] < _spanTicks / 2)
        {
            return false;
        }

        // The ring as at most two contiguous runs, oldest first.
        int firstLength = Math.Min(_count, _ticks.Length - _head);
        ReadOnlySpan<long> t1 = _ticks.AsSpan(_head, firstLength);
        ReadOnlySpan<double> x1 = _values.AsSpan(_head, firstLength);
        ReadOnlySpan<long> t2 = _ticks.AsSpan(0, _count - firstLength);
        ReadOnlySpan<double> x2 = _values.AsSpan(0, _count - firstLength);

        // Times in hours before the newest sample, values relative to the newest: both small.
        double reference = _values[newest];
        (double sumT, double sumX) = Sums(t1, x1, origin, reference);
        (double sumT2, double sumX2) = Sums(t2, x2, origin, reference);
        double meanT = (sumT + sumT2) / _count;
        double meanX = (sumX + sumX2) / _count;
        (double sxx, double sxy) = CoMoments(t1, x1, origin, reference, meanT, meanX);
        (double sxx2, double sxy2) = CoMoments(t2, x2, origin, reference, meanT, meanX);
        sxx += sxx2;
        sxy += sxy2;
        if (!(sxx > 0))
        {
            return false;
        }

        slopePerHour = sxy / sxx;
        return true;
    }

    public void Reset()
    {
        _head = 0;
        _count = 0;
    }

    private const double HoursPerTick = 1.0 / TimeSpan.TicksPerHour;

    private static (double SumT, double SumX) Sums(ReadOnlySpan<long> ticks, ReadOnlySpan<double> values, long origin, double reference)
    {
        double sumT = 0;
        double sumX = 0;
        for (int i = 0; i < ticks.Length; i++)
        {
            sumT += (ticks[i] - origin) * HoursPerTick;
            sumX += values[i] - reference;
        }

        return (sumT, sumX);
    }

    private static (double Sxx, double Sxy) CoMoments(ReadOnlySpan<long> ticks, ReadOnlySpan<double> values, long origin, double reference, double meanT, double meanX)
    {
        double sxx = 0;
        double sxy = 0;
        for (int i = 0; i < ticks.Length; i++)
        {
            double dt = ((ticks[i] - origin) * HoursPerTick) - meanT;
            sxx += dt * dt;
            sxy += dt * (values[i] - reference - meanX);
        }

        return (sxx, sxy);
    }

    private int Wrap(int index) => index >= _ticks.Length ? index - _ticks.Length : index;
}
