using System.Buffers;
using System.Globalization;
using System.Text;
using System.Xml.Linq;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>
/// What each step of an alert's life publishes: MQTT event, retained state and CAP; how the CAP messages
/// reference each other; the status they carry; cancelling; and what a restart keeps.
/// </summary>
public class AlertLifecycleTests : AlertingTests
{
    private const string Site = "test";
    private static readonly XNamespace Cap = CapWriter.Namespace;

    private const string Staged = """
        { "Threshold": [ { "Id": "level", "Quantity": "water-level", "Above": 6.20, "Hysteresis": 0.10, "Hold": "00:10:00",
          "Severity": "Moderate", "Urgency": "Expected", "Category": "Met", "ResponseTypes": [ "Prepare" ],
          "Text": { "de-DE": { "Event": "Hochwasser", "Headline": "Hochwasser: erste Stufe", "Instruction": "Ufer meiden." },
                    "en-US": { "Event": "Flood", "Headline": "Flood: first stage", "Instruction": "Keep off the riverside." } },
          "Stages": [ { "Above": 8.30, "Severity": "Severe", "Urgency": "Immediate" } ] } ] }
        """;

    /// <summary>Water level per minute: stage 1 at 00:20, stage 2 at 00:41, back to stage 1 at 01:21, cleared at 02:01.</summary>
    private static double Level(int m) => m < 10 ? 6.0 : m <= 30 ? 6.5 : m <= 50 ? 8.5 : m <= 70 ? 8.25 : m <= 90 ? 8.1 : m <= 110 ? 6.15 : 6.0;

    private static void Feed(AlertingHarness h, int from, int to)
    {
        for (int m = from; m <= to; m++)
        {
            h.Telemetry(Site, "n1", Quantities.WaterLevel, Level(m), Day.AddMinutes(m));
        }
    }

    [Fact]
    public void Every_step_is_published_as_event_retained_state_and_cap_and_the_cap_messages_reference_all_earlier_ones()
    {
        using AlertingHarness h = Start(Staged, new() { ["Cap:Status"] = "Actual", ["Cap:TimeZone"] = "Europe/Berlin", ["Cap:IdentifierPrefix"] = "SK-TEST" });
        h.Status(Site, "n1", lat: 50.9375, lon: 6.9603);
        Feed(h, 0, 130);

        Assert.Equal(4, h.Alerts.Count);
        string[] topics = [Topics.AlertEvent(Site, "level", "n1"), Topics.AlertActive(Site, "level", "n1"), Topics.AlertCap(Site, "level", "n1")];
        Assert.Equal(Enumerable.Repeat(topics, 4).SelectMany(t => t), h.Mqtt.Select(m => m.Topic));
        Assert.All(h.Mqtt, m => Assert.Equal(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce, m.QualityOfServiceLevel));
        Assert.All(h.Mqtt, m => Assert.Equal(m.Topic == topics[1], m.Retain));
        // The retained state is the latest JSON while active, and emptied by the clear.
        Assert.Equal(0, h.Mqtt[^2].Payload.Length);
        Assert.True(ProtocolJson.TryReadAlert(h.Mqtt[4].Payload.ToArray(), out AlertMessage? retained, out _));
        Assert.Equal(2, retained.Revision);

        XDocument[] docs = [.. h.Cap.Select(XDocument.Parse)];
        string[] ids = [.. docs.Select(d => d.Root!.Element(Cap + "identifier")!.Value)];
        Assert.Equal(h.Alerts.Select(a => a.CapIdentifier), ids);
        Assert.Equal(4, ids.Distinct().Count());
        Assert.All(ids, id => Assert.StartsWith("SK-TEST-test-level-n1-", id, StringComparison.Ordinal));
        Assert.Equal(["Alert", "Update", "Update", "Update"], docs.Select(d => d.Root!.Element(Cap + "msgType")!.Value));
        for (int i = 0; i < docs.Length; i++)
        {
            XElement root = docs[i].Root!;
            string sent = root.Element(Cap + "sent")!.Value;
            Assert.EndsWith("+02:00", sent, StringComparison.Ordinal); // CEST, numeric offset (CAP 1.2 §3.3.2)
            Assert.Equal("Actual", root.Element(Cap + "status")!.Value);
            Assert.Equal("gateway.sensorkit.test", root.Element(Cap + "sender")!.Value);
            string expectedReferences = string.Join(' ', docs.Take(i).Select(d =>
                $"gateway.sensorkit.test,{d.Root!.Element(Cap + "identifier")!.Value},{d.Root.Element(Cap + "sent")!.Value}"));
            Assert.Equal(expectedReferences, root.Element(Cap + "references")?.Value ?? string.Empty);
            Assert.Equal(["de-DE", "en-US"], root.Elements(Cap + "info").Select(e => e.Element(Cap + "language")!.Value));
            Assert.All(root.Elements(Cap + "info"), info => Assert.Equal("50.93750,6.96030 1", info.Element(Cap + "area")!.Element(Cap + "circle")!.Value));
        }

        XElement[] de = [.. docs.Select(d => d.Root!.Elements(Cap + "info").First())];
        Assert.Equal(["Moderate", "Severe", "Moderate", "Minor"], de.Select(i => i.Element(Cap + "severity")!.Value));
        Assert.Equal(["Expected", "Immediate", "Expected", "Past"], de.Select(i => i.Element(Cap + "urgency")!.Value));
        Assert.Equal(["Prepare", "Prepare", "Prepare", "AllClear"], de.Select(i => i.Element(Cap + "responseType")!.Value));
        Assert.Equal("Hochwasser", de[0].Element(Cap + "event")!.Value);
        Assert.StartsWith("Entwarnung: ", de[3].Element(Cap + "headline")!.Value, StringComparison.Ordinal);
        Assert.Null(de[3].Element(Cap + "onset"));
        Assert.Equal("2026-07-01T02:20:00+02:00", de[0].Element(Cap + "onset")!.Value);
        Assert.Contains("6,50 m", de[0].Element(Cap + "description")!.Value, StringComparison.Ordinal);
        Assert.Contains("6.50 m", docs[0].Root!.Elements(Cap + "info").Last().Element(Cap + "description")!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Messages_are_exercises_unless_the_gateway_is_configured_for_actual_alerts()
    {
        using AlertingHarness h = Start(Staged);
        h.Status(Site, "n1");
        Feed(h, 0, 25);

        AlertMessage raise = Assert.Single(h.Alerts);
        Assert.Equal("Exercise", raise.Status);
        XElement root = XDocument.Parse(Assert.Single(h.Cap)).Root!;
        Assert.Equal("Exercise", root.Element(Cap + "status")!.Value);
        Assert.Contains("keine reale Gefahr", root.Element(Cap + "note")!.Value, StringComparison.Ordinal);
        // UTC is written as -00:00, never Z (CAP 1.2 §3.3.2).
        Assert.EndsWith("-00:00", root.Element(Cap + "sent")!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void An_area_alert_covers_its_nodes_with_a_polygon_and_a_node_without_position_gives_no_area()
    {
        const string rules = """{ "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35, "Corroboration": { "Quorum": 2 } } ] }""";
        using (AlertingHarness h = Start(rules))
        {
            h.Status(Site, "n1", lat: 50.93, lon: 6.95);
            h.Status(Site, "n2", lat: 50.95, lon: 6.97);
            h.Telemetry(Site, "n1", Quantities.Temperature, 36, Day.AddMinutes(1));
            h.Telemetry(Site, "n2", Quantities.Temperature, 36, Day.AddMinutes(1));
            h.At(Day.AddMinutes(1).AddSeconds(5)); // the area's first window waits the settle time

            XElement area = XDocument.Parse(Assert.Single(h.Cap)).Root!.Element(Cap + "info")!.Element(Cap + "area")!;
            Assert.Equal("test, Messknoten n1, n2", area.Element(Cap + "areaDesc")!.Value);
            string[] pairs = area.Element(Cap + "polygon")!.Value.Split(' ');
            Assert.True(pairs.Length >= 5, area.ToString());
            Assert.Equal(pairs[0], pairs[^1]);
        }

        using (AlertingHarness h = Start("""{ "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35 } ] }"""))
        {
            // One node never said where it stands; the other's status with an impossible latitude is refused at
            // ingest, so until it sends a valid one it has no position either.
            // A message without an area breaks the profile; there is no honest one to give.
            h.Profile.Allowed.Add("area-required");
            h.Status(Site, "n1", located: false);
            h.Status(Site, "n2", lat: 95, lon: 6.95);
            Assert.Equal(1, h.Ingest.RejectedBy[TelemetryIngest.Malformed]);
            h.Status(Site, "n2", located: false);
            h.Telemetry(Site, "n1", Quantities.Temperature, 36, Day.AddMinutes(1));
            h.Telemetry(Site, "n2", Quantities.Temperature, 36, Day.AddMinutes(1));

            Assert.Equal(2, h.Cap.Count);
            Assert.All(h.Cap, xml => Assert.Null(XDocument.Parse(xml).Root!.Element(Cap + "info")!.Element(Cap + "area")));
        }
    }

    [Fact]
    public void A_cancelled_alert_is_withdrawn_with_a_cap_cancel_and_stays_quiet_until_its_condition_has_ended()
    {
        using AlertingHarness h = Start(Staged);
        h.Status(Site, "n1");
        Feed(h, 0, 25);
        string alertId = Assert.Single(h.Alerts).AlertId;

        Assert.False(h.Engine.Cancel("no-such-alert", null));
        Assert.True(h.Engine.Cancel(alertId, "Messwert durch Treibgut verfälscht"));
        h.Drain();
        Assert.False(h.Engine.Cancel(alertId, null));

        AlertMessage cancel = h.Alerts[1];
        Assert.Equal((AlertState.Cancelled, 2, "Past"), (cancel.State, cancel.Revision, cancel.Urgency));
        XElement root = XDocument.Parse(h.Cap[1]).Root!;
        Assert.Equal("Cancel", root.Element(Cap + "msgType")!.Value);
        Assert.Contains(h.Alerts[0].CapIdentifier!, root.Element(Cap + "references")!.Value, StringComparison.Ordinal);
        Assert.Contains("Treibgut", root.Element(Cap + "note")!.Value, StringComparison.Ordinal);
        Assert.Equal("None", root.Element(Cap + "info")!.Element(Cap + "responseType")!.Value);
        Assert.Equal(0, h.Mqtt.Last(m => m.Topic == Topics.AlertActive(Site, "level", "n1")).Payload.Length);

        // The level stays high: no new alert. It falls, then rises again: a new alert with a new id.
        Feed(h, 26, 60);
        Assert.Equal(2, h.Alerts.Count);
        for (int m = 120; m <= 160; m++)
        {
            h.Telemetry(Site, "n1", Quantities.WaterLevel, m < 140 ? 6.0 : 6.5, Day.AddMinutes(m));
        }

        Assert.Equal(3, h.Alerts.Count);
        Assert.Equal(AlertState.Raised, h.Alerts[2].State);
        Assert.NotEqual(alertId, h.Alerts[2].AlertId);
    }

    [Fact]
    public void A_restart_in_the_middle_of_an_alert_neither_raises_it_again_nor_forgets_it()
    {
        AlertingHarness first = Start(Staged);
        first.Status(Site, "n1");
        Feed(first, 0, 50);
        Assert.Equal(["R n1 Moderate/Observed [n1] @00:20", "U n1 Severe/Observed [n1] @00:41"], first.Timeline());
        first.Shutdown();

        using AlertingHarness second = Restart(first, Staged, Day.AddMinutes(50).AddSeconds(30));
        try
        {
            // The embedded broker forgot its retained messages with the restart: the active state goes out again.
            Assert.Equal([Topics.AlertActive(Site, "level", "n1")], second.Mqtt.Select(m => m.Topic));
            Assert.True(ProtocolJson.TryReadAlert(second.Mqtt[0].Payload.ToArray(), out AlertMessage? retained, out _));
            Assert.Equal((first.Alerts[1].AlertId, 2), (retained.AlertId, retained.Revision));
            Assert.Equal(1, second.Engine.ActiveCount);

            Feed(second, 51, 130);

            Assert.Equal(["U n1 Moderate/Observed [n1] @01:21", "C n1 Minor/Observed [n1] @02:01"], second.Timeline());
            Assert.All(second.Alerts, a => Assert.Equal(first.Alerts[0].AlertId, a.AlertId));
            Assert.Equal([3, 4], second.Alerts.Select(a => a.Revision));
            string references = XDocument.Parse(second.Cap[^1]).Root!.Element(Cap + "references")!.Value;
            Assert.All(first.Alerts.Concat(second.Alerts.Take(1)), a => Assert.Contains(a.CapIdentifier!, references, StringComparison.Ordinal));
        }
        finally
        {
            Hosts.DeleteQuietly(first.StateDirectory);
        }
    }

    [Fact]
    public void A_crash_keeps_the_rate_of_change_history_written_with_the_last_step()
    {
        const string rules = """{ "RateOfChange": [ { "Id": "fall", "Quantity": "pressure", "Fall": 600, "Window": "03:00:00", "Hysteresis": 100 } ] }""";
        static double Pressure(int m) => 101_300 - (5.0 * Math.Min(m, 200));

        AlertingHarness first = Start(rules);
        first.Status(Site, "n1");
        for (int m = 0; m <= 150; m++)
        {
            first.Telemetry(Site, "n1", Quantities.Pressure, Pressure(m), Day.AddMinutes(m));
        }

        Assert.Equal(["R n1 Moderate/Observed [n1] @02:00"], first.Timeline());
        first.Crash(); // the windows after 02:00 were never written

        using AlertingHarness second = Restart(first, rules, Day.AddMinutes(151));
        try
        {
            for (int m = 151; m <= 400; m++)
            {
                second.Telemetry(Site, "n1", Quantities.Pressure, Pressure(m), Day.AddMinutes(m));
            }

            // Flat from 03:20; the 3-hour fall is back to 500 Pa at 04:40, measured against the 01:40 window that
            // came back from the store. Without that history the alert would have ended right after the restart.
            Assert.Equal(["C n1 Minor/Observed [n1] @04:40"], second.Timeline());
            Assert.Equal(first.Alerts[0].AlertId, second.Alerts[0].AlertId);
        }
        finally
        {
            Hosts.DeleteQuietly(first.StateDirectory);
        }
    }

    [Fact]
    public void Steps_that_never_reached_the_broker_are_sent_after_a_restart()
    {
        AlertingHarness first = Start(Staged);
        first.AutoDrain = false;
        first.Status(Site, "n1");
        Feed(first, 0, 25);
        Assert.Single(first.Alerts);
        first.Crash(); // the broker never acknowledged anything

        try
        {
            using (AlertingHarness second = Restart(first, Staged, Day.AddMinutes(26)))
            {
                Assert.Equal(
                    [Topics.AlertEvent(Site, "level", "n1"), Topics.AlertActive(Site, "level", "n1"), Topics.AlertCap(Site, "level", "n1")],
                    second.Mqtt.Select(m => m.Topic));
                Assert.True(ProtocolJson.TryReadAlert(second.Mqtt[0].Payload.ToArray(), out AlertMessage? resent, out _));
                Assert.Equal((AlertState.Raised, first.Alerts[0].AlertId), (resent.State, resent.AlertId));
                Assert.Equal(first.Alerts[0].CapIdentifier, XDocument.Parse(second.Cap[0]).Root!.Element(Cap + "identifier")!.Value);
            }

            // Once acknowledged, a third start sends nothing again but the retained state.
            using AlertingHarness third = Restart(first, Staged, Day.AddMinutes(27));
            Assert.Equal([Topics.AlertActive(Site, "level", "n1")], third.Mqtt.Select(m => m.Topic));
        }
        finally
        {
            Hosts.DeleteQuietly(first.StateDirectory);
        }
    }

    [Fact]
    public void A_rule_removed_from_the_configuration_withdraws_its_active_alert_at_start()
    {
        AlertingHarness first = Start(Staged);
        first.Status(Site, "n1");
        Feed(first, 0, 25);
        first.Shutdown();

        using AlertingHarness second = Restart(first, "{}", Day.AddMinutes(30));
        try
        {
            AlertMessage cancel = Assert.Single(second.Alerts);
            Assert.Equal((AlertState.Cancelled, "level"), (cancel.State, cancel.Rule));
            Assert.Contains("no longer configured", Encoding.UTF8.GetString(second.Mqtt.Last(m => m.Topic.Contains("/cap/", StringComparison.Ordinal)).Payload), StringComparison.Ordinal);
            Assert.Equal(0, second.Engine.ActiveCount);
        }
        finally
        {
            Hosts.DeleteQuietly(first.StateDirectory);
        }
    }

    [Fact]
    public void A_withdrawn_alert_whose_rule_is_gone_is_dropped_without_a_word()
    {
        AlertingHarness first = Start(Staged);
        first.Status(Site, "n1");
        Feed(first, 0, 25);
        Assert.True(first.Engine.Cancel(first.Alerts[0].AlertId, null));
        first.Drain();
        first.Shutdown();

        try
        {
            using (AlertingHarness second = Restart(first, "{}", Day.AddMinutes(30)))
            {
                Assert.Empty(second.Alerts);
                Assert.Empty(second.Mqtt);
            }

            using AlertingHarness third = Restart(first, Staged, Day.AddMinutes(31));
            Assert.Empty(third.Lifecycle.Active);
        }
        finally
        {
            Hosts.DeleteQuietly(first.StateDirectory);
        }
    }

    [Fact]
    public void Json_and_cap_of_one_step_agree()
    {
        using AlertingHarness h = Start(Staged, new() { ["Cap:Status"] = "Actual" });
        h.Status(Site, "n1");
        Feed(h, 0, 45);

        for (int i = 0; i < h.Alerts.Count; i++)
        {
            AlertMessage a = h.Alerts[i];
            XElement en = XDocument.Parse(h.Cap[i]).Root!.Elements(Cap + "info").Last();
            Assert.Equal(a.Severity, en.Element(Cap + "severity")!.Value);
            Assert.Equal(a.Certainty, en.Element(Cap + "certainty")!.Value);
            Assert.Equal(a.Urgency, en.Element(Cap + "urgency")!.Value);
            Dictionary<string, string> parameters = en.Elements(Cap + "parameter").ToDictionary(p => p.Element(Cap + "valueName")!.Value, p => p.Element(Cap + "value")!.Value);
            Assert.Equal(a.AlertId, parameters["sensorkit:alertId"]);
            Assert.Equal(a.Value, double.Parse(parameters["sensorkit:value"], CultureInfo.InvariantCulture), 3);
            Assert.Equal(a.Threshold, double.Parse(parameters["sensorkit:threshold"], CultureInfo.InvariantCulture), 3);
        }
    }
}

/// <summary>The same tests with the gateways' state in PostgreSQL.</summary>
public sealed class AlertLifecycleOnPostgresTests(PostgresServer postgres) : AlertLifecycleTests
{
    protected override PostgresServer? Postgres => postgres;
}
