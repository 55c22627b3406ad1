using SensorKit.Protocol;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>
/// Rule behaviour as tables: a series of window means (minute, value) against the alert steps it must give,
/// through the gateway's real ingest, rules and lifecycle on fake time.
/// </summary>
public class RuleBehaviourTests : AlertingTests
{
    private const string Site = "test";

    private static void Feed(AlertingHarness h, string node, string quantity, params (int Minute, double Value)[] series)
    {
        foreach ((int minute, double value) in series)
        {
            h.Telemetry(Site, node, quantity, value, Day.AddMinutes(minute));
        }
    }

    /// <summary>(from, to inclusive, value) runs of one value per minute.</summary>
    private static (int, double)[] Runs(params (int From, int To, double Value)[] runs) =>
        [.. runs.SelectMany(r => Enumerable.Range(r.From, r.To - r.From + 1).Select(m => (m, r.Value)))];

    private const string Staged = """
        { "Threshold": [ { "Id": "level", "Quantity": "water-level", "Above": 6.20, "Hysteresis": 0.10, "Hold": "00:10:00",
          "Severity": "Moderate", "Stages": [ { "Above": 8.30, "Severity": "Severe" } ] } ] }
        """;

    [Fact]
    public void Stages_raise_escalate_step_down_and_clear_each_once_after_the_hold_time()
    {
        using var h = Start(Staged);
        h.Status(Site, "n1");

        Feed(h, "n1", Quantities.WaterLevel, Runs(
            (0, 9, 6.00),
            (10, 30, 6.50),   // beyond stage 1 from 00:10, held 10 min → raise at 00:20
            (31, 50, 8.50),   // beyond stage 2 from 00:31 → escalate at 00:41
            (51, 70, 8.25),   // inside stage 2's band [8.20, 8.30): stays Severe
            (71, 90, 8.10),   // back past 8.20 from 01:11 → down to Moderate at 01:21
            (91, 110, 6.15),  // inside stage 1's band: stays
            (111, 130, 6.00))); // back past 6.10 from 01:51 → clear at 02:01

        Assert.Equal(
            [
                "R n1 Moderate/Observed [n1] @00:20",
                "U n1 Severe/Observed [n1] @00:41",
                "U n1 Moderate/Observed [n1] @01:21",
                "C n1 Minor/Observed [n1] @02:01",
            ],
            h.Timeline());
        Assert.All(h.Alerts, a => Assert.Equal(h.Alerts[0].AlertId, a.AlertId));
        Assert.Equal([1, 2, 3, 4], h.Alerts.Select(a => a.Revision));
        Assert.Equal(["Immediate", "Immediate", "Immediate", "Past"], h.Alerts.Select(a => a.Urgency));
    }

    [Theory]
    // A crossing one minute shorter than the hold time gives nothing; a relapse restarts the wait.
    [InlineData(new double[] { 6.0, 6.5, 6.5, 6.5, 6.0, 6.5, 6.5, 6.5 }, 3, "")]
    // Held exactly as long as the hold time: raised on the minute the hold is complete.
    [InlineData(new double[] { 6.0, 6.5, 6.5, 6.5, 6.5 }, 3, "R@00:04")]
    // Hold zero: raised on the first window at the threshold itself.
    [InlineData(new double[] { 6.19, 6.20 }, 0, "R@00:01")]
    // Dithering inside the band after a raise changes nothing; going back past the band clears.
    [InlineData(new double[] { 6.3, 6.11, 6.25, 6.11, 6.19, 6.10 }, 0, "R@00:00 C@00:05")]
    public void Hold_and_hysteresis_edges(double[] values, int holdMinutes, string expected)
    {
        using var h = Start($$"""{ "Threshold": [ { "Id": "level", "Quantity": "water-level", "Above": 6.20, "Hysteresis": 0.10, "Hold": "00:0{{holdMinutes}}:00" } ] }""");
        h.Status(Site, "n1");

        Feed(h, "n1", Quantities.WaterLevel, [.. values.Select((v, i) => (i, v))]);

        Assert.Equal(expected, string.Join(" ", h.Alerts.Select(a => $"{a.State.ToString()[0]}@{Hhmm(a.Time)}")));
    }

    [Fact]
    public void Rate_of_change_rises_within_its_window_and_clears_when_the_rise_slows()
    {
        using var h = Start("""
            { "RateOfChange": [ { "Id": "rise", "Quantity": "water-level", "Rise": 0.05, "Window": "00:15:00", "Hysteresis": 0.02 } ] }
            """);
        h.Status(Site, "n1");

        // 4 mm per minute for 40 minutes, then flat.
        Feed(h, "n1", Quantities.WaterLevel, [.. Enumerable.Range(0, 70).Select(m => (m, 5.0 + (0.004 * Math.Min(m, 40))))]);

        // 13 × 4 mm = 5.2 cm ≥ 5 cm at 00:13; after 00:40 the 15-minute rise shrinks by 4 mm a minute
        // and is back at 2.8 cm (≤ 5 − 2) at 00:48.
        Assert.Equal(["R n1 Moderate/Observed [n1] @00:13", "C n1 Minor/Observed [n1] @00:48"], h.Timeline());
        Assert.Equal("change", h.Alerts[0].Measure);
        // 5.2 cm, published to the centimetre like every water level.
        Assert.Equal(0.05, h.Alerts[0].Value);
        Assert.Equal(0.05, h.Alerts[0].Threshold);
    }

    [Theory]
    // 5 Pa a minute: the 3-hour fall reaches 600 Pa after 120 minutes.
    [InlineData(5.0, "R@02:00")]
    // 2 Pa a minute: at most 360 Pa in 3 hours, never a storm signal.
    [InlineData(2.0, "")]
    public void Rate_of_change_fall_over_three_hours(double paPerMinute, string expected)
    {
        using var h = Start("""
            { "RateOfChange": [ { "Id": "fall", "Quantity": "pressure", "Fall": 600, "Window": "03:00:00", "Hysteresis": 100 } ] }
            """);
        h.Status(Site, "n1");

        Feed(h, "n1", Quantities.Pressure, [.. Enumerable.Range(0, 300).Select(m => (m, 101_300 - (paPerMinute * m)))]);

        Assert.Equal(expected, string.Join(" ", h.Alerts.Select(a => $"{a.State.ToString()[0]}@{Hhmm(a.Time)}")));
        Assert.All(h.Alerts, a => Assert.True(a.Value <= -600 && a.Threshold == -600, $"change {a.Value} against {a.Threshold}"));
    }

    [Fact]
    public void A_gap_in_the_data_measures_against_the_oldest_window_still_inside()
    {
        using var h = Start("""
            { "RateOfChange": [ { "Id": "rise", "Quantity": "water-level", "Rise": 0.05, "Window": "00:15:00" } ] }
            """);
        h.Status(Site, "n1");

        // 00:00 at 5.00 m, nothing until 00:20 (the node was away), then 5.06 m: the 00:00 window is outside the
        // 15 minutes, so there is nothing to compare with yet; at 00:30, 5.12 m against 5.06 m at 00:20 is a rise.
        Feed(h, "n1", Quantities.WaterLevel, (0, 5.00), (20, 5.06), (30, 5.12));

        Assert.Equal(["R n1 Moderate/Observed [n1] @00:30"], h.Timeline());
        Assert.Equal(0.06, h.Alerts[0].Value, 6);
    }

    private const string Smoke = """
        { "Baseline": [ { "Id": "smoke", "Quantity": "gas-resistance", "DropPercent": 50, "Baseline": "06:00:00", "MinBaseline": "01:00:00",
          "Hysteresis": 15, "Also": [ { "Quantity": "temperature", "Rise": 2.0, "Window": "01:00:00" } ] } ] }
        """;

    [Fact]
    public void Baseline_rule_waits_for_its_baseline_needs_the_further_condition_to_raise_and_keeps_its_baseline_through_a_long_event()
    {
        using var h = Start(Smoke);
        h.Status(Site, "n1");
        for (int m = 0; m <= 16 * 60; m += 5)
        {
            // A drop at 00:30 is too early: the baseline has less than its hour. From 02:00 the gas resistance is
            // down 60 % for 8 hours, longer than the 6-hour baseline; the temperature rises 3 °C only from 03:00.
            double gas = m is >= 30 and < 40 ? 40_000 : m is >= 120 and < 600 ? 40_000 : 100_000;
            double temperature = m < 180 ? 20 : m < 210 ? 20 + (0.1 * (m - 180)) : 23;
            h.Telemetry(Site, "n1", Quantities.Temperature, temperature, Day.AddMinutes(m), TimeSpan.FromMinutes(5));
            h.Telemetry(Site, "n1", Quantities.GasResistance, gas, Day.AddMinutes(m), TimeSpan.FromMinutes(5));
        }

        // Raised once the temperature has risen 2 °C (03:20); the temperature levelling off after 03:30 does not
        // end it, the gas resistance returning at 10:00 does.
        Assert.Equal(["R n1 Moderate/Observed [n1] @03:20", "C n1 Minor/Observed [n1] @10:00"], h.Timeline("smoke"));
        Assert.Equal("deviation", h.Alerts[0].Measure);
        Assert.Equal("%", h.Alerts[0].Unit);

        // Measured against the baseline as it stood when the drop began (02:00): the 24 windows 00:00-01:55,
        // two of them from the early dip, which came before the baseline could judge anything.
        double baseline = ((22 * 100_000.0) + (2 * 40_000.0)) / 24;
        Assert.Equal(Math.Round((40_000 - baseline) / baseline * 100), h.Alerts[0].Value); // published to the whole percent
    }

    [Fact]
    public void Fallback_quantity_serves_nodes_without_the_primary_one_until_they_publish_it()
    {
        using var h = Start("""
            { "Threshold": [ { "Id": "heat", "Quantity": "heat-index", "FallbackQuantity": "temperature", "Above": 32, "Hysteresis": 1 } ] }
            """);
        h.Status(Site, "n1");

        h.Telemetry(Site, "n1", Quantities.Temperature, 33, Day.AddMinutes(1));
        // From now on n1 publishes a heat index: its air temperature no longer counts.
        h.Telemetry(Site, "n1", "heat-index", 30, Day.AddMinutes(2));
        h.Telemetry(Site, "n1", Quantities.Temperature, 34, Day.AddMinutes(3));

        Assert.Equal(["R n1 Moderate/Observed [n1] @00:01", "C n1 Minor/Observed [n1] @00:02"], h.Timeline());
        Assert.Equal(Quantities.Temperature, h.Alerts[0].Quantity);
        Assert.Equal("heat-index", h.Alerts[1].Quantity);
    }

    [Fact]
    public void Doubtful_values_and_repeated_windows_never_reach_the_rules()
    {
        using var h = Start("""{ "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35 } ] }""");
        h.Status(Site, "n1");

        h.Telemetry(Site, "n1", Quantities.Temperature, 99, Day.AddMinutes(1), flags: QualityFlags.OutOfRange);
        h.Telemetry(Site, "n1", Quantities.Temperature, 99, Day.AddMinutes(2), flags: QualityFlags.Stuck);
        h.Telemetry(Site, "n1", Quantities.Temperature, 99, Day.AddMinutes(3), flags: QualityFlags.Stale);
        h.Telemetry(Site, "n1", Quantities.Temperature, 20, Day.AddMinutes(4), flags: QualityFlags.Gaps | QualityFlags.ReadErrors);
        // A redelivered or older window is a duplicate.
        h.Telemetry(Site, "n1", Quantities.Temperature, 99, Day.AddMinutes(4));
        h.Telemetry(Site, "n1", Quantities.Temperature, 99, Day.AddMinutes(3));

        Assert.Empty(h.Timeline("heat"));
        // One window flagged stale, or stuck, or out of range, is no operator alert either: only one that lasts
        // (A_channel_flagged_stale_or_stuck_for_long_is_an_operator_alert_that_says_for_how_long).
        Assert.Empty(h.Timeline("stale-data"));
        Assert.Empty(h.Timeline("implausible-data"));
        Assert.Equal(2, h.Ingest.Duplicates);
        Assert.Equal(0, h.Ingest.Rejected);
    }

    [Fact]
    public void A_channel_flagged_stale_or_stuck_for_long_is_an_operator_alert_that_says_for_how_long()
    {
        using var h = Start("""{ "Threshold": [ { "Id": "flood", "Quantity": "water-level", "Above": 7 } ] }""");
        h.Status(Site, "n1");

        // A gauge stuck at an alert-worthy 7.40 m for two hours: the node flags every window stuck.
        for (int minute = 1; minute <= 120; minute++)
        {
            h.Telemetry(Site, "n1", Quantities.WaterLevel, 7.40, Day.AddMinutes(minute), sensor: "vl53l0x", flags: QualityFlags.Stuck);
            h.At(Day.AddMinutes(minute).AddSeconds(30));
        }

        Assert.Empty(h.Timeline("flood"));
        // Raised once, after Rules:Operator:ImplausibleData:After (10 min), never below it, and no repeats.
        string[] steps = [.. h.Timeline("implausible-data")];
        Assert.Equal(["R n1 Minor/Observed [n1] @00:10"], steps);
        AlertMessage raised = h.Alerts.Single(a => a.Rule == "implausible-data");
        Assert.True(raised.Value >= raised.Threshold, $"{raised.Value} s below the threshold {raised.Threshold} s");
        Assert.Contains("vl53l0x/water-level (stuck)", h.Cap[^1], StringComparison.Ordinal);

        // A plausible window ends it.
        h.Telemetry(Site, "n1", Quantities.WaterLevel, 7.35, Day.AddMinutes(121), sensor: "vl53l0x");
        h.At(Day.AddMinutes(121).AddSeconds(30));
        Assert.Equal(["R n1 Minor/Observed [n1] @00:10", "C n1 Minor/Observed [n1] @02:01"], h.Timeline("implausible-data"));

        // Windows flagged stale for longer than the stale limit: one stale-data alert whose age is at the limit or above.
        for (int minute = 122; minute <= 140; minute++)
        {
            h.Telemetry(Site, "n1", Quantities.WaterLevel, 7.35, Day.AddMinutes(minute), sensor: "vl53l0x", flags: QualityFlags.Stale);
            h.At(Day.AddMinutes(minute).AddSeconds(30));
        }

        AlertMessage stale = Assert.Single(h.Alerts, a => a.Rule == "stale-data");
        Assert.True(stale.Value >= stale.Threshold, $"data age {stale.Value} s below the threshold {stale.Threshold} s");
    }

    [Fact]
    public void Two_sensors_of_one_node_give_one_alert_led_by_the_worse_one()
    {
        using var h = Start("""{ "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35, "Stages": [ { "Above": 38, "Severity": "Severe" } ] } ] }""");
        h.Status(Site, "n1", sensors: [("inside", SensorHealth.Ok), ("outside", SensorHealth.Ok)]);

        h.Telemetry(Site, "n1", Quantities.Temperature, 36, Day.AddMinutes(1), sensor: "inside");
        h.Telemetry(Site, "n1", Quantities.Temperature, 39, Day.AddMinutes(1), sensor: "outside");
        h.Telemetry(Site, "n1", Quantities.Temperature, 30, Day.AddMinutes(2), sensor: "outside");
        h.Telemetry(Site, "n1", Quantities.Temperature, 30, Day.AddMinutes(2), sensor: "inside");

        Assert.Equal(
            ["R n1 Moderate/Observed [n1] @00:01", "U n1 Severe/Observed [n1] @00:01", "U n1 Moderate/Observed [n1] @00:02", "C n1 Minor/Observed [n1] @00:02"],
            h.Timeline());
        Assert.Equal(39, h.Alerts[1].Value);
    }
}

/// <summary>The same tests with the gateways' state in PostgreSQL.</summary>
public sealed class RuleBehaviourOnPostgresTests(PostgresServer postgres) : RuleBehaviourTests
{
    protected override PostgresServer? Postgres => postgres;
}
