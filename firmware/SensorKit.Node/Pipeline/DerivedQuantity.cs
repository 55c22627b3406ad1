using SensorKit.Protocol;

namespace SensorKit.Node.Pipeline;

/// <summary>What a derived quantity could make of one read.</summary>
public enum DerivedOutcome
{
    Value,

    /// <summary>An input had no usable value in this read, or the formula has no answer: an error in the window.</summary>
    Error,

    /// <summary>Not enough history yet (a 3-hour tendency in its first 3 hours): nothing is counted.</summary>
    NotYet,
}

/// <summary>
/// A quantity computed at each read from channels of the same sensor (docs/derived-quantities.md).
/// It is published as a channel of its own, with its own window and quality.
/// </summary>
public abstract class DerivedQuantity(string quantity, string unit)
{
    public string Quantity { get; } = quantity;

    public string Unit { get; } = unit;

    /// <summary>Computes the value for the read at <paramref name="ticks"/>, after its input channels have taken it.</summary>
    public abstract DerivedOutcome Compute(long ticks, out double value);
}

/// <summary>A formula of two channels' current values: dew point, absolute humidity, heat index, sea-level pressure, water level.</summary>
public sealed class FormulaQuantity(string quantity, string unit, ChannelPipeline a, ChannelPipeline? b, Func<double, double, double> formula)
    : DerivedQuantity(quantity, unit)
{
    public override DerivedOutcome Compute(long ticks, out double value)
    {
        value = double.NaN;
        if (!a.HasCurrent || (b is not null && !b.HasCurrent))
        {
            return DerivedOutcome.Error;
        }

        value = formula(a.Current, b?.Current ?? double.NaN);
        return double.IsFinite(value) ? DerivedOutcome.Value : DerivedOutcome.Error;
    }
}

/// <summary>
/// Rate of change over a sliding window (e.g. water-level rise over the last 15 minutes), in the
/// input's unit per hour: the least-squares slope of <see cref="SlidingTrend"/>.
/// </summary>
public sealed class RateQuantity(ChannelPipeline input, SlidingTrend trend)
    : DerivedQuantity(input.Id.Quantity + Quantities.RateSuffix, input.Id.Unit + "/h")
{
    public override DerivedOutcome Compute(long ticks, out double value)
    {
        value = double.NaN;
        if (!input.HasCurrent)
        {
            return DerivedOutcome.Error;
        }

        trend.Add(ticks, input.Current);
        return trend.TryGetSlopePerHour(out value) ? DerivedOutcome.Value : DerivedOutcome.NotYet;
    }
}

/// <summary>
/// Pressure tendency over 3 hours: the pressure now minus the pressure 3 hours ago, the amount WMO
/// reports as "ppp" (WMO-No. 306, Manual on Codes, FM 12 SYNOP, group 5appp; WMO-No. 8, Vol. I, §3.1).
/// The past is kept as one-minute means of time and pressure (or one per sample interval, if longer) in a
/// preallocated ring; the value 3 hours ago is interpolated linearly between the two means around it. Until 3 hours of
/// history exist, or where the history has a hole around that time, there is no value.
/// </summary>
public sealed class PressureTendencyQuantity : DerivedQuantity
{
    public static readonly TimeSpan Period = TimeSpan.FromHours(3);

    private readonly ChannelPipeline _pressure;
    private readonly long _bucketTicks;
    private readonly long[] _times;     // mean time of each bucket's samples, ascending
    private readonly double[] _means;
    private int _head;
    private int _count;
    private long _bucketStart = long.MinValue;
    private int _bucketCount;
    private int _cursor;                // entries after the head: the last one at or before the target
    private double _bucketMean;
    private double _bucketOffset;       // mean of the samples' ticks after the bucket start

    public PressureTendencyQuantity(ChannelPipeline pressure, TimeSpan sampleInterval)
        : base(Quantities.PressureTendency3h, Units.Pascal)
    {
        _pressure = pressure;
        _bucketTicks = Math.Max(TimeSpan.TicksPerMinute, sampleInterval.Ticks);
        int capacity = (int)(Period.Ticks / _bucketTicks) + 4;
        _times = new long[capacity];
        _means = new double[capacity];
    }

    public override DerivedOutcome Compute(long ticks, out double value)
    {
        value = double.NaN;
        if (!_pressure.HasCurrent)
        {
            return DerivedOutcome.Error;
        }

        double p = _pressure.Current;
        Remember(ticks, p);
        if (!TryGetPast(ticks - Period.Ticks, out double past))
        {
            return DerivedOutcome.NotYet;
        }

        value = p - past;
        return DerivedOutcome.Value;
    }

    private void Remember(long ticks, double p)
    {
        if (_bucketStart == long.MinValue || ticks < _bucketStart || ticks - _bucketStart >= _bucketTicks)
        {
            long start = ticks - (ticks % _bucketTicks);
            if (_bucketStart != long.MinValue && _bucketCount > 0)
            {
                Push(_bucketStart + (long)_bucketOffset, _bucketMean);
            }

            if (start < _bucketStart)
            {
                // The clock stepped back: history no longer lines up with now.
                _count = 0;
                _head = 0;
                _cursor = 0;
            }

            _bucketStart = start;
            _bucketCount = 0;
            _bucketMean = 0;
            _bucketOffset = 0;
        }

        _bucketCount++;
        _bucketMean += (p - _bucketMean) / _bucketCount;
        _bucketOffset += ((ticks - _bucketStart) - _bucketOffset) / _bucketCount;
    }

    private void Push(long time, double mean)
    {
        if (_count == _times.Length)
        {
            _head = Wrap(_head + 1);
            _count--;
            _cursor = Math.Max(0, _cursor - 1);
        }

        int at = Wrap(_head + _count);
        _times[at] = time;
        _means[at] = mean;
        _count++;
    }

    private bool TryGetPast(long target, out double past)
    {
        past = double.NaN;
        if (_count < 2 || _times[_head] > target)
        {
            return false;
        }

        // The target moves forward with the clock, so the entry before it is found by stepping a
        // cursor (amortised O(1)) rather than searching.
        _cursor = Math.Min(_cursor, _count - 1);
        while (_cursor + 1 < _count && _times[Wrap(_head + _cursor + 1)] <= target)
        {
            _cursor++;
        }

        while (_cursor > 0 && _times[Wrap(_head + _cursor)] > target)
        {
            _cursor--;
        }

        if (_cursor == _count - 1)
        {
            return false;
        }

        int before = Wrap(_head + _cursor);
        int after = Wrap(_head + _cursor + 1);
        long span = _times[after] - _times[before];
        if (span > 3 * _bucketTicks)
        {
            return false;
        }

        double fraction = (target - _times[before]) / (double)span;
        past = _means[before] + (fraction * (_means[after] - _means[before]));
        return true;
    }

    private int Wrap(int index) => index >= _times.Length ? index - _times.Length : index;
}
