namespace SensorKit.Gateway.Rules;

/// <summary>
/// The (time, value) samples of one channel inside a sliding time span, oldest first, with their running sum.
/// A growable ring: once it has grown to the span's sample count, adding a sample allocates nothing.
/// </summary>
internal sealed class SampleWindow
{
    private long[] _ticks = new long[16];
    private double[] _values = new double[16];
    private int _head;
    private double _sum;

    public int Count { get; private set; }

    public double Mean => Count == 0 ? double.NaN : _sum / Count;

    public DateTimeOffset OldestTime => new(_ticks[_head], TimeSpan.Zero);

    public double OldestValue => _values[_head];

    /// <summary>Time from the oldest to the newest sample.</summary>
    public TimeSpan Span => Count == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(_ticks[(_head + Count - 1) % _ticks.Length] - _ticks[_head]);

    public void Add(DateTimeOffset time, double value)
    {
        if (Count == _ticks.Length)
        {
            Grow();
        }

        int tail = (_head + Count) % _ticks.Length;
        _ticks[tail] = time.UtcTicks;
        _values[tail] = value;
        _sum += value;
        Count++;
    }

    /// <summary>Drops samples older than <paramref name="cutoff"/>.</summary>
    public void TrimBefore(DateTimeOffset cutoff)
    {
        long limit = cutoff.UtcTicks;
        while (Count > 0 && _ticks[_head] < limit)
        {
            _sum -= _values[_head];
            _head = (_head + 1) % _ticks.Length;
            Count--;
        }

        if (Count == 0)
        {
            // Start the sum afresh, so rounding errors of long runs cannot pile up.
            _sum = 0;
        }
    }

    public IEnumerable<(long Ticks, double Value)> Samples()
    {
        for (int i = 0; i < Count; i++)
        {
            int k = (_head + i) % _ticks.Length;
            yield return (_ticks[k], _values[k]);
        }
    }

    public void Clear()
    {
        _head = 0;
        Count = 0;
        _sum = 0;
    }

    private void Grow()
    {
        var ticks = new long[_ticks.Length * 2];
        var values = new double[_values.Length * 2];
        for (int i = 0; i < Count; i++)
        {
            int k = (_head + i) % _ticks.Length;
            ticks[i] = _ticks[k];
            values[i] = _values[k];
        }

        _ticks = ticks;
        _values = values;
        _head = 0;
    }
}
