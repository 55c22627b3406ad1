using CsCheck;
using SensorKit.Node.Pipeline;

namespace SensorKit.Tests.Pipeline;

public sealed class FilterTests
{
    private static (double[] Values, FilterOutcome[] Outcomes) Run(SampleFilter filter, params double[] input)
    {
        var outcomes = new FilterOutcome[input.Length];
        double[] values = (double[])input.Clone();
        for (int i = 0; i < values.Length; i++)
        {
            outcomes[i] = filter.Apply(ref values[i]);
        }

        return (values, outcomes);
    }

    [Fact]
    public void Median_of_3_removes_a_single_spike_and_starts_with_what_it_has()
    {
        (double[] v, _) = Run(new MedianFilter(3), 10, 12, 11, 95, 12, 13, 12);

        // Median of {10}, {10,12}, {10,12,11}, {12,11,95}, {11,95,12}, {95,12,13}, {12,13,12}.
        Assert.Equal([10, 11, 11, 12, 12, 13, 12], v);
    }

    [Fact]
    public void Median_equals_the_middle_of_the_sorted_last_N_for_any_input()
    {
        // Few distinct values, so repeats (the hard case for the in-place sorted window) are common.
        Gen.Select(Gen.Int[0, 3].Select(k => 3 + (2 * k)), Gen.Int[-3, 3].Select(i => i * 0.5).Array[1, 60]).Sample((size, input) =>
        {
            (double[] output, _) = Run(new MedianFilter(size), input);
            for (int i = 0; i < input.Length; i++)
            {
                double[] window = input[Math.Max(0, i - size + 1)..(i + 1)].Order().ToArray();
                int mid = window.Length / 2;
                double expected = window.Length % 2 == 1 ? window[mid] : (window[mid - 1] + window[mid]) / 2;
                Assert.Equal(expected, output[i]);
            }
        });
    }

    [Fact]
    public void Median_of_5_removes_two_adjacent_spikes()
    {
        (double[] v, _) = Run(new MedianFilter(5), 1, 1, 1, 50, -50, 1, 1, 1);

        Assert.All(v, x => Assert.Equal(1, x));
    }

    [Fact]
    public void Moving_average_averages_the_last_N_and_is_exact_at_a_large_offset()
    {
        (double[] v, _) = Run(new MovingAverageFilter(3), 3, 6, 9, 12);
        Assert.Equal([3, 4.5, 6, 9], v);

        (double[] p, _) = Run(new MovingAverageFilter(2), 100_000.01, 99_999.99);
        Assert.Equal(100_000, p[1], 10);
    }

    [Fact]
    public void Exponential_average_starts_at_the_first_value()
    {
        (double[] v, _) = Run(new ExponentialAverageFilter(0.5), 10, 20, 20);

        Assert.Equal([10, 15, 17.5], v);
    }

    [Fact]
    public void Deadband_suppresses_changes_smaller_than_delta_against_the_last_value_passed()
    {
        (double[] v, FilterOutcome[] o) = Run(new DeadbandFilter(0.5), 10, 10.3, 10.6, 10.9, 11.2);

        // 10.3 and 10.9 stay within 0.5 of the last passed value (10, then 10.6).
        Assert.Equal([FilterOutcome.Pass, FilterOutcome.Suppressed, FilterOutcome.Pass, FilterOutcome.Suppressed, FilterOutcome.Pass], o);
        Assert.Equal([10, 10, 10.6, 10.6, 11.2], v);
    }

    [Fact]
    public void Range_rejects_or_clamps()
    {
        (double[] rejected, FilterOutcome[] ro) = Run(new RangeFilter(0, 100, clamp: false), 50, 101, -1);
        Assert.Equal([FilterOutcome.Pass, FilterOutcome.Rejected, FilterOutcome.Rejected], ro);
        Assert.Equal(50, rejected[0]);

        (double[] clamped, FilterOutcome[] co) = Run(new RangeFilter(0, 100, clamp: true), 50, 101, -1);
        Assert.Equal([FilterOutcome.Pass, FilterOutcome.Clamped, FilterOutcome.Clamped], co);
        Assert.Equal([50, 100, 0], clamped);
    }

    [Fact]
    public void Calibration_is_scale_then_offset()
    {
        (double[] v, _) = Run(new CalibrationFilter(scale: 1.02, offset: -0.4), 20, 0);

        Assert.Equal((1.02 * 20) - 0.4, v[0], 12);
        Assert.Equal(-0.4, v[1], 12);
    }

    [Fact]
    public void Chain_applies_in_order_and_stops_at_the_first_filter_that_does_not_pass()
    {
        var chain = new FilterChain([new RangeFilter(0, 100, clamp: false), new CalibrationFilter(2, 1)]);
        double ok = 10;
        double bad = 150;

        Assert.Equal(FilterOutcome.Pass, chain.Apply(ref ok));
        Assert.Equal(21, ok);
        Assert.Equal(FilterOutcome.Rejected, chain.Apply(ref bad));
        Assert.Equal(150, bad);
        Assert.True(chain.Calibrated);

        // The same two in the other order check the range after calibration.
        var reversed = new FilterChain([new CalibrationFilter(2, 1), new RangeFilter(0, 100, clamp: false)]);
        double fifty = 50;
        Assert.Equal(FilterOutcome.Rejected, reversed.Apply(ref fifty));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(1)]
    public void Median_needs_an_odd_size_of_at_least_3(int size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MedianFilter(size));
    }

    [Fact]
    public void Reset_forgets_history()
    {
        var median = new MedianFilter(3);
        double a = 100;
        double b = 100;
        median.Apply(ref a);
        median.Apply(ref b);
        median.Reset();
        double c = 5;

        median.Apply(ref c);

        Assert.Equal(5, c);
    }
}
