using CsCheck;
using SensorKit.Node.Pipeline;

namespace SensorKit.Tests.Pipeline;

/// <summary>Properties of the window statistics that must hold for any input (CsCheck generates and shrinks).</summary>
public sealed class WindowStatisticsPropertyTests
{
    private static readonly Gen<double[]> Values = Gen.Double[-1e6, 1e6].Array[1, 200];

    private static WindowStatistics Of(ReadOnlySpan<double> values, double firstSecond = 0)
    {
        var s = default(WindowStatistics);
        for (int i = 0; i < values.Length; i++)
        {
            s.Add(firstSecond + i, values[i]);
        }

        return s;
    }

    /// <summary>Two-pass reference in decimal (28 significant digits), independent of the Welford update.</summary>
    private static (double Mean, double StdDev, double Slope) Reference(double[] values)
    {
        decimal n = values.Length;
        decimal mean = values.Sum(v => (decimal)v) / n;
        decimal meanT = (n - 1) / 2;
        decimal sxx = 0, stt = 0, stx = 0;
        for (int i = 0; i < values.Length; i++)
        {
            decimal dx = (decimal)values[i] - mean;
            decimal dt = i - meanT;
            sxx += dx * dx;
            stt += dt * dt;
            stx += dt * dx;
        }

        return ((double)mean, Math.Sqrt((double)(sxx / n)), stt == 0 ? double.NaN : (double)(stx / stt));
    }

    [Fact]
    public void Mean_lies_within_min_and_max_and_stddev_is_not_negative()
    {
        Values.Sample(values =>
        {
            WindowStatistics s = Of(values);
            Assert.InRange(s.Mean, s.Min, s.Max);
            Assert.True(s.StdDev >= 0, $"stddev {s.StdDev}");
            Assert.Equal(values.Min(), s.Min);
            Assert.Equal(values.Max(), s.Max);
            Assert.Equal(values[0], s.First);
            Assert.Equal(values[^1], s.Last);
        });
    }

    [Fact]
    public void Matches_a_two_pass_decimal_reference()
    {
        Values.Sample(values =>
        {
            WindowStatistics s = Of(values);
            (double mean, double stdDev, double slope) = Reference(values);
            double scale = values.Max(Math.Abs) + 1;
            Assert.Equal(mean, s.Mean, scale * 1e-12);
            Assert.Equal(stdDev, s.StdDev, scale * 1e-11);
            if (values.Length > 1)
            {
                Assert.Equal(slope, s.Slope, scale * 1e-11);
            }
        });
    }

    [Fact]
    public void Merging_two_windows_equals_the_window_of_the_concatenated_samples()
    {
        Gen.Select(Values, Values).Sample((a, b) =>
        {
            double[] both = [.. a, .. b];
            WindowStatistics whole = Of(both);
            WindowStatistics merged = WindowStatistics.Merge(Of(a), Of(b, firstSecond: a.Length));
            double scale = both.Max(Math.Abs) + 1;

            Assert.Equal(whole.Count, merged.Count);
            Assert.Equal(whole.Min, merged.Min);
            Assert.Equal(whole.Max, merged.Max);
            Assert.Equal(whole.First, merged.First);
            Assert.Equal(whole.Last, merged.Last);
            Assert.Equal(whole.Mean, merged.Mean, scale * 1e-12);
            Assert.Equal(whole.StdDev, merged.StdDev, scale * 1e-11);
            Assert.Equal(whole.Slope, merged.Slope, scale * 1e-11);
        });
    }

    [Fact]
    public void A_large_offset_keeps_the_standard_deviation()
    {
        // 100 000 Pa ± 0.01 Pa: a naive Σx² − n·x̄² loses every digit of the variance here.
        Gen.Double[-0.01, 0.01].Array[2, 500].Sample(noise =>
        {
            double[] values = noise.Select(d => 100_000 + d).ToArray();
            WindowStatistics s = Of(values);
            (double mean, double stdDev, _) = Reference(values);

            Assert.Equal(mean, s.Mean, 1e-9);
            // Within 1e-9 of 0.01 Pa scale: the inputs themselves are only exact to 1.5e-11 Pa at 1e5.
            Assert.Equal(stdDev, s.StdDev, 1e-9);
        });
    }

    [Fact]
    public void Constant_input_has_stddev_exactly_zero_and_slope_zero()
    {
        Gen.Select(Gen.Double[-1e12, 1e12], Gen.Int[2, 300]).Sample((value, count) =>
        {
            WindowStatistics s = Of(Enumerable.Repeat(value, count).ToArray());
            Assert.Equal(0, s.StdDev);
            Assert.Equal(0, s.Slope);
            Assert.Equal(value, s.Mean);
        });
    }
}
