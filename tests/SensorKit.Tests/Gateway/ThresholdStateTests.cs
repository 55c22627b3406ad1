using SensorKit.Gateway.Rules;

namespace SensorKit.Tests.Gateway;

/// <summary>Hysteresis and hold time as tables: (seconds since start, value) → expected transition.</summary>
public sealed class ThresholdStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 7, 1, 12, 0, 0, TimeSpan.Zero);

    private static string Run(ThresholdState state, params (int Seconds, double Value)[] steps) =>
        string.Join(" ", steps.Select(s => state.Evaluate(s.Value, T0.AddSeconds(s.Seconds)) switch
        {
            Transition.Raise => "R",
            Transition.Clear => "C",
            _ => ".",
        }));

    [Fact]
    public void Raises_at_the_threshold_and_clears_only_below_threshold_minus_hysteresis()
    {
        var s = new ThresholdState(threshold: 35, hysteresis: 1, hold: TimeSpan.Zero, above: true);

        Assert.Equal(". R . . C", Run(s, (0, 34.9), (1, 35.0), (2, 34.5), (3, 34.1), (4, 34.0)));
    }

    [Fact]
    public void A_value_dithering_inside_the_band_gives_one_raise_and_one_clear()
    {
        var s = new ThresholdState(35, 1, TimeSpan.Zero, above: true);
        var steps = new List<(int, double)>();
        double[] dither = [34.9, 35.1, 34.9, 35.2, 34.8, 35.0, 34.5, 35.3, 34.2, 35.1];
        for (int i = 0; i < dither.Length; i++)
        {
            steps.Add((i, dither[i]));
        }

        steps.Add((dither.Length, 33.0));
        string timeline = Run(s, [.. steps]);

        Assert.Equal(1, timeline.Count(c => c == 'R'));
        Assert.Equal(1, timeline.Count(c => c == 'C'));
        Assert.EndsWith("C", timeline, StringComparison.Ordinal);
    }

    [Fact]
    public void Hold_time_requires_the_value_to_stay_beyond_for_that_long()
    {
        var s = new ThresholdState(35, 1, TimeSpan.FromSeconds(60), above: true);

        // Beyond at 0 s, back below at 30 s (restart), beyond from 40 s: raises at 100 s, not before.
        Assert.Equal(". . . . . R", Run(s, (0, 36), (30, 34), (40, 36), (70, 36), (99, 36), (100, 36)));
        // Clearing needs 60 s inside the band too; a relapse restarts the wait.
        Assert.Equal(". . . . C", Run(s, (110, 33), (150, 36), (160, 33), (200, 33), (220, 33)));
    }

    [Fact]
    public void Below_rules_mirror_the_band()
    {
        var s = new ThresholdState(threshold: 100_300, hysteresis: 200, hold: TimeSpan.Zero, above: false);

        Assert.Equal(". R . C", Run(s, (0, 100_400), (1, 100_300), (2, 100_450), (3, 100_500)));
    }

    [Fact]
    public void Non_finite_values_change_nothing()
    {
        var s = new ThresholdState(35, 1, TimeSpan.Zero, above: true);

        Assert.Equal(". . R", Run(s, (0, double.NaN), (1, double.PositiveInfinity), (2, 36)));
    }
}
