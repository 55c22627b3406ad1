using SensorKit.Node.Pipeline;
using SensorKit.Protocol;

namespace SensorKit.Tests.Pipeline;

public sealed class WindowAggregatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 7, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Window_closes_with_count_min_max_mean_first_last()
    {
        var agg = new WindowAggregator(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
        double[] values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
        for (int i = 0; i < values.Length; i++)
        {
            Assert.False(agg.Add(T0.AddSeconds(i), values[i], out _));
        }

        Assert.True(agg.Add(T0.AddSeconds(10), 7, out WindowAggregate a));

        Assert.Equal(T0, a.Start);
        Assert.Equal(T0.AddSeconds(10), a.End);
        Assert.Equal(10, a.Count);
        Assert.Equal(10, a.Expected);
        Assert.Equal(1, a.Min);
        Assert.Equal(9, a.Max);
        Assert.Equal(3.9, a.Mean, 12);
        Assert.Equal(3, a.First);
        Assert.Equal(3, a.Last);
        Assert.Equal(QualityFlags.None, a.Flags);
        // Population standard deviation of the ten values.
        Assert.Equal(Math.Sqrt(values.Select(v => (v - 3.9) * (v - 3.9)).Sum() / 10), a.StdDev, 12);
    }

    [Fact]
    public void NaN_and_out_of_range_are_counted_as_errors_not_averaged()
    {
        var agg = new WindowAggregator(TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(1), rangeMin: -40, rangeMax: 85);
        agg.Add(T0, 20, out _);
        agg.Add(T0.AddSeconds(1), double.NaN, out _);
        agg.Add(T0.AddSeconds(2), 150, out _);
        agg.Add(T0.AddSeconds(3), 22, out _);

        Assert.True(agg.Flush(T0.AddSeconds(4), out WindowAggregate a));

        Assert.Equal(2, a.Count);
        Assert.Equal(2, a.Errors);
        Assert.Equal(21, a.Mean);
        Assert.Equal(QualityFlags.Gaps | QualityFlags.ReadErrors | QualityFlags.OutOfRange, a.Flags);
    }

    [Fact]
    public void Large_offset_keeps_the_standard_deviation_exact()
    {
        var agg = new WindowAggregator(TimeSpan.FromSeconds(1000), TimeSpan.FromSeconds(1));
        for (int i = 0; i < 1000; i++)
        {
            agg.Add(T0.AddSeconds(i), 100_000 + (i % 2 == 0 ? 0.01 : -0.01), out _);
        }

        Assert.True(agg.Flush(T0.AddSeconds(1000), out WindowAggregate a));

        Assert.Equal(0.01, a.StdDev, 9);
        Assert.Equal(100_000, a.Mean, 9);
    }

    [Fact]
    public void Window_with_only_errors_emits_nothing()
    {
        var agg = new WindowAggregator(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));
        agg.AddError(T0, out _);

        Assert.False(agg.Flush(T0.AddSeconds(2), out _));
    }
}
