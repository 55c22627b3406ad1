using System.Globalization;
using SensorKit.Protocol;
using SensorKit.Simulation;
using SensorKit.Simulation.Scenarios;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>
/// Whole days of telemetry through the gateway with every shipped rule pack switched on: each hazard gives its
/// expected alert timeline and nothing else, the quiet day gives none. Heat wave, storm and quiet day come from
/// the simulation's shipped scenarios; flood and wildfire smoke are generated here. Window means are taken from
/// six samples per one-minute window, as a node would.
/// </summary>
public class ScenarioReplayTests : AlertingTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(2);

    private static readonly Dictionary<string, string?> AllPacks = new()
    {
        ["Rules:Packs:1"] = "heat",
        ["Rules:Packs:2"] = "storm",
        ["Rules:Packs:3"] = "flood",
        ["Rules:Packs:4"] = "wildfire-smoke",
        ["Rules:Packs:5"] = "shelter-co2",
        ["Rules:Packs:6"] = "operator",
    };

    private delegate double Signal(string node, string quantity, TimeSpan t);

    private static void Replay(AlertingHarness h, string site, (string Node, double Lat, double Lon)[] nodes, string[] quantities, TimeSpan duration, Signal signal)
    {
        foreach ((string node, double lat, double lon) in nodes)
        {
            h.Status(site, node, lat: lat, lon: lon);
        }

        for (TimeSpan end = Window; end <= duration; end += Window)
        {
            foreach ((string node, _, _) in nodes)
            {
                foreach (string quantity in quantities)
                {
                    double mean = Enumerable.Range(1, 6).Average(k => signal(node, quantity, end - Window + (Window * k / 6)));
                    h.Telemetry(site, node, quantity, mean, Day + end);
                }
            }

            h.At(Day + end + TimeSpan.FromSeconds(1));
        }
    }

    private static Signal FromScenario(string name)
    {
        Scenario scenario = Scenario.Load(SimulationSetup.ResolveScenario(name + ".json"));
        return (node, quantity, t) => scenario.Signals
            .Last(s => (s.Node == "*" || s.Node == node) && (s.Sensor == "*" || s.Sensor == "bme280") && s.Quantity == quantity)
            .At(t);
    }

    /// <summary>Each expected step ("R subject Severity/Certainty [nodes]", hh:mm) must happen within the tolerance, and nothing else.</summary>
    private static void AssertTimeline(AlertingHarness h, params (string Step, string At)[] expected)
    {
        string actual = string.Join("\n", h.Timeline());
        Assert.True(expected.Length == h.Alerts.Count, $"expected {expected.Length} steps, got {h.Alerts.Count}:\n{actual}");
        for (int i = 0; i < expected.Length; i++)
        {
            AlertMessage a = h.Alerts[i];
            string step = Describe(a)[..Describe(a).LastIndexOf(" @", StringComparison.Ordinal)];
            TimeSpan at = TimeSpan.ParseExact(expected[i].At, @"hh\:mm", CultureInfo.InvariantCulture);
            Assert.True(
                expected[i].Step == step && (a.Time - (Day + at)).Duration() <= Tolerance,
                $"step {i}: expected {expected[i].Step} at {expected[i].At} (± {Tolerance.TotalMinutes} min), got:\n{actual}");
        }
    }

    [Fact]
    public void Heat_wave_raises_strong_then_extreme_heat_stress_and_clears_in_the_evening()
    {
        using AlertingHarness h = Start("{}", AllPacks);
        Signal heatWave = FromScenario("heat-wave");

        Replay(h, "cologne", [("n1", 50.9375, 6.9603)], [Quantities.Temperature, Quantities.Humidity, Quantities.Pressure], TimeSpan.FromHours(24), heatWave);

        // 30 + 9·cos(2π(t − 16 h)/24 h): above 32 °C from 10:52, above 38 °C from 14:11, back to 37 °C at 18:36
        // and to 31 °C at 21:35; each step after the pack's 30-minute hold.
        AssertTimeline(
            h,
            ("R n1 Moderate/Observed [n1]", "11:22"),
            ("U n1 Severe/Observed [n1]", "14:41"),
            ("U n1 Moderate/Observed [n1]", "19:06"),
            ("C n1 Minor/Observed [n1]", "22:05"));
        Assert.All(h.Alerts, a => Assert.Equal(("heat-perceived-temperature", Quantities.Temperature), (a.Rule, a.Quantity)));
        Assert.Contains("<event>Extreme Hitze</event>", h.Cap[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Storm_raises_one_corroborated_alert_when_the_pressure_falls_6_hPa_in_3_hours()
    {
        using AlertingHarness h = Start("{}", AllPacks);

        Replay(
            h,
            "cologne",
            [("n1", 50.930, 6.950), ("n2", 50.940, 6.960), ("n3", 50.950, 6.970)],
            [Quantities.Temperature, Quantities.Humidity, Quantities.Pressure],
            TimeSpan.FromHours(12),
            FromScenario("storm"));

        // 1012 → 1002 hPa from 01:00 to 04:00: a 6 hPa fall within 3 h at 02:48, plus 10 minutes of hold. All three
        // nodes see it in the same window: one raise, confirmed. The 3-hour fall is back under 5 hPa at 05:19.
        AssertTimeline(
            h,
            ("R cologne Moderate/Likely [n1,n2,n3]", "02:58"),
            ("C cologne Minor/Observed [n1,n2,n3]", "05:29"));
        Assert.Equal("change", h.Alerts[0].Measure);
        Assert.True(h.Alerts[0].Value <= -600, $"fall {h.Alerts[0].Value} Pa");
        Assert.Contains("<polygon>", h.Cap[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Quiet_day_raises_nothing_at_all()
    {
        using AlertingHarness h = Start("{}", AllPacks);

        Replay(
            h,
            "cologne",
            [("n1", 50.930, 6.950), ("n2", 50.940, 6.960), ("n3", 50.950, 6.970)],
            [Quantities.Temperature, Quantities.Humidity, Quantities.Pressure],
            TimeSpan.FromHours(24),
            FromScenario("quiet-day"));

        Assert.Empty(h.Alerts);
        Assert.Equal(3 * 3 * 24 * 60, h.Ingest.Accepted - 3);
    }

    [Fact]
    public void Flood_raises_at_the_first_mark_escalates_at_the_second_and_warns_of_the_fast_rise()
    {
        using AlertingHarness h = Start("{}", AllPacks);

        // The Rhine at Cologne: 5.00 m rising 38 cm an hour to 8.80 m at 10:00, two hours at the crest, then falling
        // as fast. Marks at 6.20 m and 8.30 m (pack values for rhine-cologne), hysteresis 10 cm, 10 minutes of hold.
        static double Level(TimeSpan t) => t.TotalHours switch
        {
            <= 10 => 5.0 + (0.38 * t.TotalHours),
            <= 12 => 8.8,
            _ => Math.Max(5.0, 8.8 - (0.38 * (t.TotalHours - 12))),
        };

        Replay(h, "rhine-cologne", [("gauge-1", 50.9365, 6.9627)], [Quantities.WaterLevel], TimeSpan.FromHours(24), (_, _, t) => Level(t));

        // The first window ends at 00:01: 8 windows later the rise is 5.07 cm. At the crest the 15-minute rise
        // is back to 1 cm (5 − 4, the pack's hysteresis) after 14 windows. The window means lag the level by 25 s.
        Assert.Equal(["R gauge-1 Moderate/Observed [gauge-1] @00:09", "C gauge-1 Minor/Observed [gauge-1] @10:14"], h.Timeline("flood-rise-rate"));
        Assert.Equal(
            [
                "R gauge-1 Moderate/Observed [gauge-1] @03:20",
                "U gauge-1 Severe/Observed [gauge-1] @08:52",
                "U gauge-1 Moderate/Observed [gauge-1] @13:46",
                "C gauge-1 Minor/Observed [gauge-1] @19:17",
            ],
            h.Timeline("flood-water-level"));
        Assert.Equal(6, h.Alerts.Count);
        Assert.Contains("<event>Hochwasser</event>", h.Cap.First(c => c.Contains("flood-water-level", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public void Wildfire_smoke_is_possible_at_one_node_and_likely_when_a_second_one_agrees()
    {
        using AlertingHarness h = Start("{}", AllPacks);

        // Nodes a and b lie in the smoke: from 10:00 (a) and 10:30 (b) the gas resistance falls from 120 to 40 kΩ
        // within 20 minutes while it gets 3 °C warmer and 10 %RH drier within 30 minutes; two hours later the air
        // clears within 30 minutes. Node c stays in clean air.
        static double Fire(TimeSpan t, TimeSpan start, double full, double ramp)
        {
            double m = (t - start).TotalMinutes;
            double rise = Math.Clamp(m / ramp, 0, 1);
            double fall = Math.Clamp((m - 120) / 30, 0, 1);
            return full * (rise - fall);
        }

        double Smoke(string node, string quantity, TimeSpan t)
        {
            TimeSpan? start = node switch { "a" => TimeSpan.FromHours(10), "b" => TimeSpan.FromHours(10.5), _ => null };
            return quantity switch
            {
                Quantities.GasResistance => 120_000 - (start is { } s ? Fire(t, s, 80_000, 20) : 0),
                Quantities.Temperature => 20 + (start is { } s ? Fire(t, s, 3, 30) : 0),
                _ => 60 - (start is { } s ? Fire(t, s, 10, 30) : 0),
            };
        }

        Replay(
            h,
            "forest-1",
            [("a", 50.90, 7.10), ("b", 50.91, 7.12), ("c", 50.92, 7.14)],
            [Quantities.Temperature, Quantities.Humidity, Quantities.GasResistance],
            TimeSpan.FromHours(16),
            Smoke);

        // a: 50 % down at 10:16, warmer by 2 °C at 10:21, plus 5 minutes of hold → Possible; b 30 minutes later → Likely.
        // The drop is back under 35 % at 12:15 (a) and 12:45 (b), each plus 5 minutes of hold.
        AssertTimeline(
            h,
            ("R forest-1 Moderate/Possible [a]", "10:21"),
            ("U forest-1 Severe/Likely [a,b]", "10:51"),
            ("U forest-1 Moderate/Possible [b]", "12:20"),
            ("C forest-1 Minor/Observed [b]", "12:50"));
        Assert.All(h.Alerts, a => Assert.Equal(("wildfire-smoke", "deviation", "%"), (a.Rule, a.Measure, a.Unit)));
        Assert.Contains("<category>Fire</category>", h.Cap[0], StringComparison.Ordinal);
        Assert.Contains("<circle>", h.Cap[0], StringComparison.Ordinal);
        Assert.Contains("<polygon>", h.Cap[1], StringComparison.Ordinal);
    }
}

/// <summary>The same tests with the gateways' state in PostgreSQL.</summary>
public sealed class ScenarioReplayOnPostgresTests(PostgresServer postgres) : ScenarioReplayTests
{
    protected override PostgresServer? Postgres => postgres;
}
