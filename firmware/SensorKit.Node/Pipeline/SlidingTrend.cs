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
        if (_count > 0 && ticks < _ticks[(_head + _count - 1) % _ticks.Length])
        {
            // The clock stepped back: the old samples no longer lie on the same time line.
            Reset();
        }

        if (_count == _ticks.Length)
        {
            _head = (_head + 1) % _ticks.Length;
            _count--;
        }

        int at = (_head + _count) % _ticks.Length;
        _ticks[at] = ticks;
        _values[at] = value;
        _count++;

        long oldestAllowed = ticks - _spanTicks;
        while (_count > 1 && _ticks[_head] < oldestAllowed)
        {
            _head = (_head + 1) % _ticks.Length;
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

        int newest = (_head + _count - 1) % _ticks.Length;
        long origin = _ticks[newest];
        if (origin - _ticks[_head] < _spanTicks / 2)
        {
            return false;
        }

        // Times in hours before the newest sample, values relative to the newest: both small.
        double reference = _values[newest];
        double meanT = 0;
        double meanX = 0;
        for (int i = 0; i < _count; i++)
        {
            int k = (_head + i) % _ticks.Length;
            meanT += (_ticks[k] - origin) / (double)TimeSpan.TicksPerHour;
            meanX += _values[k] - reference;
        }

        meanT /= _count;
        meanX /= _count;
        double sxx = 0;
        double sxy = 0;
        for (int i = 0; i < _count; i++)
        {
            int k = (_head + i) % _ticks.Length;
            double dt = ((_ticks[k] - origin) / (double)TimeSpan.TicksPerHour) - meanT;
            sxx += dt * dt;
            sxy += dt * (_values[k] - reference - meanX);
        }

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
}
