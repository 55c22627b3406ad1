using SensorKit.Protocol;

namespace SensorKit.Gateway.History;

/// <summary>
/// Statistics of a set of samples known only through the statistics of its parts: count, min, max, mean and the sum
/// of squared deviations M2 = n·σ² (σ the population standard deviation). Two parts merge exactly, as in
/// Chan, Golub, LeVeque, "Updating formulae and a pairwise algorithm for computing sample variances" (1979):
/// n = nA + nB, δ = μB − μA, μ = μA + δ·nB/n, M2 = M2A + M2B + δ²·nA·nB/n.
/// The SQL upserts of <see cref="SqliteTelemetryHistory"/> and <see cref="PostgresTelemetryHistory"/> apply the same formula to a stored rollup.
/// </summary>
public struct RollupMath
{
    public int Windows { get; private set; }

    public long Count { get; private set; }

    public double Min { get; private set; }

    public double Max { get; private set; }

    public double Mean { get; private set; }

    /// <summary>Σ (x − mean)² over all samples.</summary>
    public double M2 { get; private set; }

    public QualityFlags Flags { get; private set; }

    /// <summary>Population standard deviation of all samples.</summary>
    public readonly double StdDev => Count == 0 ? double.NaN : Math.Sqrt(Math.Max(0, M2 / Count));

    /// <summary>Merges one window: <paramref name="stdDev"/> is its population standard deviation.</summary>
    public void AddWindow(long count, double min, double max, double mean, double stdDev, QualityFlags flags) =>
        Merge(1, count, min, max, mean, count * stdDev * stdDev, flags);

    public void Merge(int windows, long count, double min, double max, double mean, double m2, QualityFlags flags)
    {
        if (Count == 0)
        {
            (Windows, Count, Min, Max, Mean, M2, Flags) = (windows, count, min, max, mean, m2, flags);
            return;
        }

        long n = Count + count;
        double delta = mean - Mean;
        // Same operation order as the SQL upsert, so both give the same bits.
        Mean += delta * count / n;
        M2 = M2 + m2 + delta * delta * Count * count / n;
        Count = n;
        Windows += windows;
        Min = Math.Min(Min, min);
        Max = Math.Max(Max, max);
        Flags |= flags;
    }
}
