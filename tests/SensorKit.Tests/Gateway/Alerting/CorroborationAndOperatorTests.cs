using SensorKit.Protocol;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>k-of-n corroboration across the nodes of a site, and the operator alerts about the network itself.</summary>
public class CorroborationAndOperatorTests : AlertingTests
{
    private const string Site = "test";

    private const string TwoOfN = """
        { "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35, "Severity": "Severe", "Certainty": "Observed",
          "Corroboration": { "Quorum": 2 } } ] }
        """;

    private static void Window(AlertingHarness h, int minute, params double[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            h.Telemetry(Site, $"n{i + 1}", Quantities.Temperature, values[i], Day.AddMinutes(minute));
        }
    }

    private AlertingHarness ThreeNodes(string rules, Dictionary<string, string?>? config = null)
    {
        AlertingHarness h = Start(rules, config);
        h.Status(Site, "n1", lat: 50.930, lon: 6.950);
        h.Status(Site, "n2", lat: 50.940, lon: 6.960);
        h.Status(Site, "n3", lat: 50.950, lon: 6.970);
        return h;
    }

    [Fact]
    public void One_node_alone_is_possible_quorum_confirms_and_nodes_joining_and_leaving_update_the_one_alert()
    {
        using AlertingHarness h = ThreeNodes(TwoOfN);

        Window(h, 0, 30, 30, 30);
        Window(h, 1, 36, 30, 30);
        Window(h, 2, 36, 36, 30);
        Window(h, 3, 36, 36, 36);
        Window(h, 4, 30, 36, 36);
        Window(h, 5, 30, 30, 36);
        Window(h, 6, 30, 30, 30);

        Assert.Equal(
            [
                "R test Minor/Possible [n1] @00:01",
                "U test Severe/Observed [n1,n2] @00:02",
                "U test Severe/Observed [n1,n2,n3] @00:03",
                "U test Severe/Observed [n2,n3] @00:04",
                "U test Minor/Possible [n3] @00:05",
                "C test Minor/Observed [n3] @00:06",
            ],
            h.Timeline());
        Assert.All(h.Alerts, a => Assert.Equal((2, 3), (a.Quorum, a.NodesReporting)));
        Assert.StartsWith("Unconfirmed: ", h.Alerts[0].Headline, StringComparison.Ordinal);
        Assert.DoesNotContain("Unconfirmed", h.Alerts[1].Headline, StringComparison.Ordinal);
    }

    [Fact]
    public void Nodes_agreeing_in_the_same_window_give_one_raise_not_a_raise_and_an_update()
    {
        using AlertingHarness h = ThreeNodes(TwoOfN);

        Window(h, 0, 30, 30, 30);
        Window(h, 1, 36, 37, 38);

        Assert.Equal(["R test Severe/Observed [n1,n2,n3] @00:01"], h.Timeline());
        Assert.Equal(38, h.Alerts[0].Value);
    }

    [Fact]
    public void A_node_missing_from_a_window_delays_the_step_by_the_settle_time_only()
    {
        using AlertingHarness h = ThreeNodes(TwoOfN);
        Window(h, 0, 30, 30, 30);

        // n3 stays silent in this window: the two that agree wait 5 s for it, then go out.
        Window(h, 1, 36, 36);
        Assert.Empty(h.Alerts);
        h.At(Day.AddMinutes(1).AddSeconds(4));
        Assert.Empty(h.Alerts);
        h.At(Day.AddMinutes(1).AddSeconds(5));

        AlertMessage raise = Assert.Single(h.Alerts);
        Assert.Equal("R test Severe/Observed [n1,n2] @00:01", Describe(raise));
        Assert.Equal(Day.AddMinutes(1), raise.RaisedAt);
    }

    [Fact]
    public void The_confirmed_stage_is_the_highest_one_that_a_quorum_reaches()
    {
        using AlertingHarness h = ThreeNodes("""
            { "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35, "Severity": "Moderate",
              "Stages": [ { "Above": 38, "Severity": "Severe" } ], "Corroboration": { "Quorum": 2 } } ] }
            """);

        Window(h, 0, 30, 30, 30);
        Window(h, 1, 39, 36, 30);
        Window(h, 2, 39, 39, 30);

        Assert.Equal(["R test Moderate/Observed [n1,n2] @00:01", "U test Severe/Observed [n1,n2] @00:02"], h.Timeline());
        Assert.Equal(39, h.Alerts[0].Value);
    }

    [Fact]
    public void The_all_clear_of_an_area_alert_reports_the_nodes_that_carried_it_not_a_bystander()
    {
        using AlertingHarness h = ThreeNodes("""
            { "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35, "Hysteresis": 1, "Corroboration": { "Quorum": 1 } } ] }
            """);

        // n1 is the bystander, listed first; n2 carries the alert.
        Window(h, 0, 20, 30);
        Window(h, 1, 20, 36);
        Window(h, 2, 20, 33);

        Assert.Equal(["R test Moderate/Observed [n2] @00:01", "C test Minor/Observed [n2] @00:02"], h.Timeline());
        Assert.Equal([36.0, 33.0], h.Alerts.Select(a => a.Value));
    }

    [Fact]
    public void Node_lost_by_its_will_is_an_operator_alert_after_the_hold_and_ends_when_it_is_back()
    {
        using AlertingHarness h = Start("{}");
        h.Status(Site, "n1");

        h.At(Day.AddMinutes(10));
        h.Status(Site, "n1", NodeState.Lost);
        h.At(Day.AddMinutes(10).AddSeconds(59));
        Assert.Empty(h.Alerts);
        h.At(Day.AddMinutes(11));
        h.At(Day.AddMinutes(20));
        h.Status(Site, "n1");
        h.At(Day.AddMinutes(21));

        Assert.Equal(["R n1 Minor/Observed [n1] @00:11", "C n1 Minor/Observed [n1] @00:21"], h.Timeline("node-offline"));
        AlertMessage raise = h.Alerts[0];
        Assert.Equal(AlertAudience.Operator, raise.Audience);
        Assert.Equal("heartbeat-age", raise.Quantity);
        Assert.Contains("last will", h.Cap[0], StringComparison.Ordinal);
        Assert.Contains("<scope>Restricted</scope>", h.Cap[0], StringComparison.Ordinal);
        Assert.Contains("<category>Infra</category>", h.Cap[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_reboot_shorter_than_the_hold_raises_nothing()
    {
        using AlertingHarness h = Start("{}");
        h.Status(Site, "n1");

        h.At(Day.AddMinutes(10));
        h.Status(Site, "n1", NodeState.Offline);
        h.At(Day.AddMinutes(10).AddSeconds(30));
        h.Status(Site, "n1");
        h.At(Day.AddMinutes(15));

        Assert.Empty(h.Alerts);
    }

    [Fact]
    public void A_silent_node_is_offline_after_the_heartbeat_and_its_channels_are_not_reported_stale_as_well()
    {
        using AlertingHarness h = Start("{}");
        h.Status(Site, "n1");
        for (int m = 0; m <= 10; m++)
        {
            h.Telemetry(Site, "n1", Quantities.Temperature, 20, Day.AddMinutes(m));
            h.Telemetry(Site, "n1", Quantities.Humidity, 50, Day.AddMinutes(m));
        }

        for (int m = 11; m < 30; m++)
        {
            h.At(Day.AddMinutes(m));
        }

        for (int m = 30; m <= 32; m++)
        {
            h.Telemetry(Site, "n1", Quantities.Temperature, 20, Day.AddMinutes(m));
            h.Telemetry(Site, "n1", Quantities.Humidity, 50, Day.AddMinutes(m));
            h.At(Day.AddMinutes(m));
        }

        // Silent from 00:10: 5 minutes of heartbeat, then 1 minute of hold.
        Assert.Equal(["R n1 Minor/Observed [n1] @00:16", "C n1 Minor/Observed [n1] @00:31"], h.Timeline());
        Assert.Equal(360, h.Alerts[0].Value);
        Assert.Contains("nothing for 6 min", h.Cap[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Failed_sensors_are_one_alert_per_node_that_follows_which_sensors_are_down()
    {
        using AlertingHarness h = Start("{}");
        h.Status(Site, "n1", sensors: [("a", SensorHealth.Ok), ("b", SensorHealth.Ok)]);

        h.At(Day.AddMinutes(1));
        h.Status(Site, "n1", sensors: [("a", SensorHealth.Failed), ("b", SensorHealth.Ok)]);
        h.At(Day.AddMinutes(2));
        h.Status(Site, "n1", sensors: [("a", SensorHealth.Failed), ("b", SensorHealth.Failed)]);
        h.At(Day.AddMinutes(3));
        // Degraded is neither failed nor well: nothing changes.
        h.Status(Site, "n1", sensors: [("a", SensorHealth.Degraded), ("b", SensorHealth.Failed)]);
        h.At(Day.AddMinutes(4));
        h.Status(Site, "n1", sensors: [("a", SensorHealth.Ok), ("b", SensorHealth.Failed)]);
        h.At(Day.AddMinutes(5));
        h.Status(Site, "n1", sensors: [("a", SensorHealth.Ok), ("b", SensorHealth.Ok)]);

        Assert.Equal(
            [
                "R n1 Minor/Observed [n1] @00:01",
                "U n1 Minor/Observed [n1] @00:02",
                "U n1 Minor/Observed [n1] @00:04",
                "C n1 Minor/Observed [n1] @00:05",
            ],
            h.Timeline("sensor-failed"));
        Assert.Contains("a (IOException: no acknowledge); b (IOException: no acknowledge)", h.Cap[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_channel_that_stops_while_its_node_talks_is_stale_unless_its_sensor_is_reported_failed()
    {
        using AlertingHarness h = Start("{}");
        h.Status(Site, "n1", sensors: [("a", SensorHealth.Ok), ("b", SensorHealth.Ok)]);
        for (int m = 0; m <= 60; m++)
        {
            // Sensor a is silent from 00:10 to 00:29 (status still says ok), then again from 00:40 while failed.
            if (m is < 10 or (>= 30 and < 40))
            {
                h.Telemetry(Site, "n1", Quantities.Temperature, 20, Day.AddMinutes(m), sensor: "a");
            }

            h.Telemetry(Site, "n1", Quantities.Temperature, 20, Day.AddMinutes(m), sensor: "b");
            if (m == 40)
            {
                h.Status(Site, "n1", sensors: [("a", SensorHealth.Failed), ("b", SensorHealth.Ok)]);
            }

            h.At(Day.AddMinutes(m));
        }

        Assert.Equal(["R n1 Minor/Observed [n1] @00:14", "C n1 Minor/Observed [n1] @00:30"], h.Timeline("stale-data"));
        Assert.Equal(["R n1 Minor/Observed [n1] @00:40"], h.Timeline("sensor-failed"));
        Assert.Contains("a/temperature", h.Cap[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Low_battery_from_the_operator_pack_is_a_restricted_system_message_in_an_actual_gateway()
    {
        using AlertingHarness h = Start("{}", new() { ["Rules:Packs:1"] = "operator", ["Cap:Status"] = "Actual" });
        h.Status(Site, "n1", sensors: [("battery", SensorHealth.Ok)]);

        for (int m = 0; m <= 60; m++)
        {
            double volts = m < 10 ? 12.5 : m < 30 ? 11.9 : m < 50 ? 11.5 : 12.5;
            h.Telemetry(Site, "n1", Quantities.Voltage, volts, Day.AddMinutes(m), sensor: "battery");
        }

        Assert.Equal(
            ["R n1 Minor/Observed [n1] @00:20", "U n1 Moderate/Observed [n1] @00:40", "C n1 Minor/Observed [n1] @01:00"],
            h.Timeline("low-battery"));
        Assert.All(h.Alerts, a => Assert.Equal(("System", AlertAudience.Operator), (a.Status, a.Audience)));
        Assert.All(h.Cap, xml => Assert.Contains("<status>System</status>", xml, StringComparison.Ordinal));
        Assert.All(h.Cap, xml => Assert.Contains("<scope>Restricted</scope>", xml, StringComparison.Ordinal));
    }
}

/// <summary>The same tests with the gateways' state in PostgreSQL.</summary>
public sealed class CorroborationAndOperatorOnPostgresTests(PostgresServer postgres) : CorroborationAndOperatorTests
{
    protected override PostgresServer? Postgres => postgres;
}
