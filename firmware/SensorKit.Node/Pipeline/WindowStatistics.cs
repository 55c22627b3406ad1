namespace SensorKit.Node.Pipeline;

/// <summary>
/// Running statistics of (time, value) samples: count, min, max, first, last, mean, variance and the
/// least-squares slope of value over time, in O(1) memory and without allocating.
/// <para>
/// Mean and the second moments use Welford's update (Knuth, TAOCP vol. 2, 3rd ed., §4.2.2, eq. 15-16)
/// on values shifted by the window's first sample. The shift keeps the update exact for a large offset
/// with small noise (100 000 Pa ± 0.01 Pa), where a plain sum of squares cancels to nothing
/// (Chan, Golub, LeVeque, "Algorithms for computing the sample variance", Am. Stat. 37(3), 1983, §3).
/// The co-moment of time and value is the bivariate form of the same update; <see cref="Merge"/> is
/// the pairwise combination of Chan, Golub, LeVeque (1979), so two windows merged give the statistics
/// of their concatenated samples.
/// </para>
/// Times are seconds from an origin the caller chooses (the window start); merged windows must share it.
/// </summary>
public struct WindowStatistics
{
    private double _shift;      // the first value; every value enters the moments as (x − shift)
    private double _meanX;      // mean of (x − shift)
    private double _meanT;
    private double _m2X;        // Σ (x − x̄)²
    private double _m2T;        // Σ (t − t̄)²
    private double _cXT;        // Σ (x − x̄)(t − t̄)

    public int Count { get; private set; }
    public double Min { get; private set; }
    public double Max { get; private set; }
    public double First { get; private set; }
    public double Last { get; private set; }

    /// <summary>Arithmetic mean, clamped into [Min, Max] against the last bit of rounding.</summary>
    public readonly double Mean => Count == 0 ? double.NaN : Math.Clamp(_shift + _meanX, Min, Max);

    /// <summary>Population variance Σ(x − x̄)²/n; exactly 0 for constant input.</summary>
    public readonly double Variance => Count == 0 ? double.NaN : Math.Max(0, _m2X / Count);

    /// <summary>Population standard deviation.</summary>
    public readonly double StdDev => Math.Sqrt(Variance);

    /// <summary>Least-squares slope of value over time in value units per second; NaN with fewer than two distinct times.</summary>
    public readonly double Slope => Count > 1 && _m2T > 0 ? _cXT / _m2T : double.NaN;

    public void Add(double seconds, double value)
    {
        if (Count == 0)
        {
            _shift = value;
            Min = Max = First = value;
        }
        else
        {
            Min = Math.Min(Min, value);
            Max = Math.Max(Max, value);
        }

        Count++;
        Last = value;
        double inverseCount = 1.0 / Count;
        double dx = (value - _shift) - _meanX;
        double dt = seconds - _meanT;
        _meanX += dx * inverseCount;
        _meanT += dt * inverseCount;
        double dxAfter = (value - _shift) - _meanX;
        _m2X += dx * dxAfter;
        _m2T += dt * (seconds - _meanT);
        _cXT += dt * dxAfter;
    }

    public void Reset() => this = default;

    /// <summary>The statistics of <paramref name="earlier"/>'s samples followed by <paramref name="later"/>'s.</summary>
    public static WindowStatistics Merge(in WindowStatistics earlier, in WindowStatistics later)
    {
        if (later.Count == 0)
        {
            return earlier;
        }

        if (earlier.Count == 0)
        {
            return later;
        }

        double na = earlier.Count;
        double nb = later.Count;
        double n = na + nb;

        // Bring the later window onto the earlier one's shift; the difference of shifts is exact
        // when they are within a factor of two (Sterbenz), which neighbouring windows are.
        double meanXb = (later._shift - earlier._shift) + later._meanX;
        double dx = meanXb - earlier._meanX;
        double dt = later._meanT - earlier._meanT;
        double weight = na * nb / n;

        WindowStatistics merged = earlier;
        merged.Count = earlier.Count + later.Count;
        merged.Min = Math.Min(earlier.Min, later.Min);
        merged.Max = Math.Max(earlier.Max, later.Max);
        merged.Last = later.Last;
        merged._meanX = earlier._meanX + (dx * nb / n);
        merged._meanT = earlier._meanT + (dt * nb / n);
        merged._m2X = earlier._m2X + later._m2X + (dx * dx * weight);
        merged._m2T = earlier._m2T + later._m2T + (dt * dt * weight);
        merged._cXT = earlier._cXT + later._cXT + (dx * dt * weight);
        return merged;
    }
}
