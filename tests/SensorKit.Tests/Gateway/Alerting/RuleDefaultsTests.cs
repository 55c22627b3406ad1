using SensorKit.Gateway.Rules;
using SensorKit.Protocol;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>
/// The product defaults for public rules (Rules:Defaults): one alert per site and hazard, listing its nodes, and never
/// raised on a single window. Most other tests pin the per-node, one-window behaviour they were written for.
/// </summary>
public class RuleDefaultsTests : AlertingTests
{
    private const string Site = "test";

    private static readonly Dictionary<string, string?> ProductDefaults = new()
    {
        ["Rules:Defaults:Scope"] = nameof(RuleScope.Site),
        ["Rules:Defaults:MinWindows"] = "2",
    };

    [Fact]
    public void One_heat_event_at_three_nodes_of_a_site_is_one_alert_listing_them()
    {
        using AlertingHarness h = Start("""{ "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35, "Hysteresis": 1 } ] }""", ProductDefaults);
        foreach (string node in new[] { "n1", "n2", "n3" })
        {
            h.Status(Site, node);
        }

        for (int minute = 1; minute <= 5; minute++)
        {
            foreach (string node in new[] { "n1", "n2", "n3" })
            {
                h.Telemetry(Site, node, Quantities.Temperature, minute <= 3 ? 37 : 30, Day.AddMinutes(minute));
            }

            h.At(Day.AddMinutes(minute).AddSeconds(5));
        }

        // Raised on the second window (MinWindows 2), as one alert for the site with all three nodes, cleared once.
        Assert.Equal(["R test Moderate/Observed [n1,n2,n3] @00:02", "C test Minor/Observed [n1,n2,n3] @00:04"], h.Timeline("heat"));
    }

    [Fact]
    public void One_window_out_of_line_at_one_gauge_reaches_nobody()
    {
        using AlertingHarness h = Start("""{ "RateOfChange": [ { "Id": "rise", "Quantity": "water-level", "Rise": 0.3, "Window": "00:30:00" } ] }""", ProductDefaults);
        h.Status(Site, "g1");
        h.Status(Site, "g2");
        double[] g1 = [6.00, 6.00, 6.00, 6.50, 6.00, 6.00, 6.00];
        for (int minute = 0; minute < g1.Length; minute++)
        {
            h.Telemetry(Site, "g1", Quantities.WaterLevel, g1[minute], Day.AddMinutes(minute + 1), sensor: "vl53l0x");
            h.Telemetry(Site, "g2", Quantities.WaterLevel, 6.00, Day.AddMinutes(minute + 1), sensor: "vl53l0x");
            h.At(Day.AddMinutes(minute + 1).AddSeconds(5));
        }

        Assert.Empty(h.Timeline("rise"));
    }

    [Fact]
    public void A_real_rise_at_one_gauge_still_raises_on_its_second_window()
    {
        using AlertingHarness h = Start("""{ "RateOfChange": [ { "Id": "rise", "Quantity": "water-level", "Rise": 0.3, "Window": "00:30:00" } ] }""", ProductDefaults);
        h.Status(Site, "g1");
        double[] g1 = [6.00, 6.00, 6.40, 6.50, 6.60];
        for (int minute = 0; minute < g1.Length; minute++)
        {
            h.Telemetry(Site, "g1", Quantities.WaterLevel, g1[minute], Day.AddMinutes(minute + 1), sensor: "vl53l0x");
            h.At(Day.AddMinutes(minute + 1).AddSeconds(5));
        }

        Assert.Equal(["R test Moderate/Observed [g1] @00:04"], h.Timeline("rise"));
    }

    [Fact]
    public void A_backlog_after_an_outage_counts_in_its_own_time()
    {
        const string rules = """
            { "Threshold": [ { "Id": "level", "Quantity": "water-level", "Above": 5.8, "Hold": "00:10:00" } ],
              "RateOfChange": [ { "Id": "rise", "Quantity": "water-level", "Rise": 0.3, "Window": "00:30:00" } ] }
            """;
        using AlertingHarness h = Start(rules, ProductDefaults);
        h.Status(Site, "g1");
        for (int minute = 1; minute <= 10; minute++)
        {
            h.Telemetry(Site, "g1", Quantities.WaterLevel, 5.0, Day.AddMinutes(minute), sensor: "vl53l0x");
        }

        // An hour away. Back at 01:11 the node sends its newest window live first, then the backlog oldest first.
        h.Status(Site, "g1");
        h.Telemetry(Site, "g1", Quantities.WaterLevel, 6.0, Day.AddMinutes(71), sensor: "vl53l0x");
        for (int minute = 11; minute <= 70; minute++)
        {
            // 5.0 m; a 50 cm wave from 00:30 that recedes by 00:50; from 00:58 above the level threshold for good.
            double metres = minute switch
            {
                < 30 => 5.0,
                < 40 => 5.0 + ((minute - 29) * 0.05),
                < 50 => 5.5 - ((minute - 39) * 0.05),
                < 58 => 5.0,
                _ => 6.0,
            };
            h.Telemetry(Site, "g1", Quantities.WaterLevel, metres, Day.AddMinutes(minute), sensor: "vl53l0x", backfill: true);
        }

        h.Telemetry(Site, "g1", Quantities.WaterLevel, 6.0, Day.AddMinutes(72), sensor: "vl53l0x");
        h.At(Day.AddMinutes(72).AddSeconds(10));

        // The rise inside the backlog raised and cleared, in backlog time; the level's hold counted from 00:58, so it
        // was raised with the backlog (at 01:08), not ten minutes after the node came back, and it stays raised.
        AlertMessage rise = h.Alerts.First(a => a.Rule == "rise" && a.State == AlertState.Raised);
        Assert.InRange(rise.RaisedAt, Day.AddMinutes(35), Day.AddMinutes(40));
        Assert.Contains(h.Alerts, a => a.Rule == "rise" && a.State == AlertState.Cleared);
        AlertMessage level = h.Alerts.Single(a => a.Rule == "level" && a.State == AlertState.Raised);
        Assert.Equal(Day.AddMinutes(68), level.RaisedAt);
        Assert.DoesNotContain(h.Alerts, a => a.Rule == "level" && a.State == AlertState.Cleared);
    }

    [Fact]
    public void A_public_rule_that_alerts_per_node_must_say_why()
    {
        const string withoutReason = """{ "Threshold": [ { "Id": "co2", "Quantity": "co2", "Above": 1500, "Scope": "Node" } ] }""";
        const string withReason = """{ "Threshold": [ { "Id": "co2", "Quantity": "co2", "Above": 1500, "Scope": "Node", "ScopeReason": "each node watches one room" } ] }""";

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => Start(withoutReason, ProductDefaults));
        Assert.Contains("(rule 'co2'):ScopeReason: a public rule that alerts per node must say why", error.Message, StringComparison.Ordinal);

        using AlertingHarness h = Start(withReason, ProductDefaults);
        h.Status(Site, "r1");
        h.Status(Site, "r2");
        h.Telemetry(Site, "r1", "co2", 2000, Day.AddMinutes(1), sensor: "scd4x");
        h.Telemetry(Site, "r1", "co2", 2000, Day.AddMinutes(2), sensor: "scd4x");
        Assert.Equal(["R r1 Moderate/Observed [r1] @00:02"], h.Timeline("co2"));
    }
}

/// <summary>The same tests with the gateways' state in PostgreSQL.</summary>
public sealed class RuleDefaultsOnPostgresTests(PostgresServer postgres) : RuleDefaultsTests
{
    protected override PostgresServer? Postgres => postgres;
}
