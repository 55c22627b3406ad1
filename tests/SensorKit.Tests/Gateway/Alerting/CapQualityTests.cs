using System.Globalization;
using System.Xml.Linq;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>
/// What the Google Public Alerts profile asks of the gateway's CAP beyond the schema: every message expires, a
/// long-running alert is re-issued before it does (a CAP Update only: no JSON event, no revision), every info has
/// a web link, a contact and an instruction, and published values are rounded to their unit's resolution.
/// </summary>
public class CapQualityTests : AlertingTests
{
    private const string Site = "test";
    private static readonly XNamespace Cap = CapWriter.Namespace;

    private const string Level = """
        { "Threshold": [ { "Id": "level", "Quantity": "water-level", "Above": 6.20, "Hysteresis": 0.10, "Severity": "Moderate",
          "Text": { "de-DE": { "Event": "Hochwasser", "Instruction": "Ufer meiden." }, "en-US": { "Event": "Flood", "Instruction": "Keep off the riverside." } },
          "Stages": [ { "Above": 8.30, "Severity": "Severe" } ] } ] }
        """;

    /// <summary>One window a minute from <paramref name="from"/> to <paramref name="to"/>, the gateway clock ticking a second after each.</summary>
    private static void Run(AlertingHarness h, int from, int to, Func<int, double> level)
    {
        for (int m = from; m <= to; m++)
        {
            h.Telemetry(Site, "n1", Quantities.WaterLevel, level(m), Day.AddMinutes(m));
            h.At(Day.AddMinutes(m).AddSeconds(1));
        }
    }

    private static XElement Root(string xml) => XDocument.Parse(xml).Root!;

    private static string Value(XElement e, string name) => e.Element(Cap + name)?.Value ?? string.Empty;

    private static DateTimeOffset Time(XElement e, string name) => DateTimeOffset.ParseExact(Value(e, name), "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    [Fact]
    public void A_long_alert_is_re_issued_before_each_expiry_as_a_cap_update_only_and_its_all_clear_references_every_message()
    {
        using AlertingHarness h = Start(Level);
        h.Status(Site, "n1");
        Run(h, 0, 20 * 60, m => m < 10 ? 6.0 : 6.5);

        // Raised at 00:10, valid 6 h (Cap:Expires) and re-issued 1 h before each expiry (Cap:RefreshBefore).
        AlertMessage raise = Assert.Single(h.Alerts);
        XElement[] docs = [.. h.Cap.Select(Root)];
        Assert.Equal(["00:10:00", "05:10:01", "10:10:01", "15:10:01"], docs.Select(d => (Time(d, "sent") - Day).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture)));
        Assert.Equal([raise.CapIdentifier, $"{raise.CapIdentifier}-r1", $"{raise.CapIdentifier}-r2", $"{raise.CapIdentifier}-r3"], docs.Select(d => Value(d, "identifier")));
        Assert.Equal(["Alert", "Update", "Update", "Update"], docs.Select(d => Value(d, "msgType")));
        for (int i = 0; i < docs.Length; i++)
        {
            Assert.All(docs[i].Elements(Cap + "info"), info => Assert.Equal(Time(docs[i], "sent") + TimeSpan.FromHours(6), Time(info, "expires")));
            Assert.Equal(
                string.Join(' ', docs.Take(i).Select(d => $"gateway.sensorkit.test,{Value(d, "identifier")},{Value(d, "sent")}")),
                Value(docs[i], "references"));
        }

        // Same content as the raise, apart from what dates and names the message itself.
        static XElement Content(XElement info)
        {
            var copy = new XElement(info);
            copy.Elements().Where(e => e.Name.LocalName is "expires" or "web").Remove();
            return copy;
        }

        Assert.All(docs.Skip(1), d => Assert.Equal(
            docs[0].Elements(Cap + "info").Select(i => Content(i).ToString()),
            d.Elements(Cap + "info").Select(i => Content(i).ToString())));
        Assert.All(docs.Skip(1), d => Assert.StartsWith(
            "Vor Ablauf unverändert erneut ausgegeben, Stand 2026-07-01T00:10:00-00:00. / Re-issued unchanged before expiry, as of 2026-07-01T00:10:00-00:00.",
            Value(d, "note"),
            StringComparison.Ordinal));

        // On MQTT a re-issue is the CAP message alone: the JSON event stream and the retained state are untouched.
        Assert.Equal(
            [Topics.AlertEvent(Site, "level", "n1"), Topics.AlertActive(Site, "level", "n1"), Topics.AlertCap(Site, "level", "n1"), Topics.AlertCap(Site, "level", "n1"), Topics.AlertCap(Site, "level", "n1"), Topics.AlertCap(Site, "level", "n1")],
            h.Mqtt.Select(m => m.Topic));
        Assert.Equal(4, h.Store.LoadFeed(Day, 100).Count);
        Assert.Empty(h.Profile.LapsedAt(h.Clock.GetUtcNow()));

        // The all-clear is the next revision, references every message and expires an hour after it is sent (Cap:ExpiresEnded).
        Run(h, (20 * 60) + 1, (20 * 60) + 10, _ => 6.0);
        Assert.Equal([AlertState.Raised, AlertState.Cleared], h.Alerts.Select(a => a.State));
        Assert.Equal(2, h.Alerts[1].Revision);
        XElement clear = Root(h.Cap[^1]);
        Assert.Equal(4, Value(clear, "references").Split(' ').Length);
        Assert.All(clear.Elements(Cap + "info"), info => Assert.Equal(Time(clear, "sent") + TimeSpan.FromHours(1), Time(info, "expires")));
    }

    [Fact]
    public void An_update_restarts_the_validity_and_a_rule_can_set_a_shorter_one_re_issued_at_half_of_it()
    {
        using (AlertingHarness h = Start(Level))
        {
            h.Status(Site, "n1");

            // Raised at 00:10, up a stage at 03:00: the next message is due 5 h after the update, not after the raise.
            Run(h, 0, 9 * 60, m => m < 10 ? 6.0 : m < 180 ? 6.5 : 8.5);
            Assert.Equal(["00:10:00", "03:00:00", "08:00:01"], h.Cap.Select(x => (Time(Root(x), "sent") - Day).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture)));
            Assert.Equal(2, h.Alerts.Count);
        }

        using (AlertingHarness h = Start(Level.Replace("\"Severity\": \"Moderate\",", "\"Severity\": \"Moderate\", \"Expires\": \"01:00:00\",", StringComparison.Ordinal)))
        {
            h.Status(Site, "n1");
            Run(h, 0, 2 * 60, m => m < 10 ? 6.0 : 6.5);

            // Valid 1 h: re-issued every 30 min, as Cap:RefreshBefore (1 h) would leave no time.
            Assert.Equal(["00:10:00", "00:40:01", "01:10:01", "01:40:01"], h.Cap.Select(x => (Time(Root(x), "sent") - Day).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture)));
            Assert.All(h.Cap.Select(Root), d => Assert.Equal(Time(d, "sent") + TimeSpan.FromHours(1), Time(d.Element(Cap + "info")!, "expires")));
        }
    }

    [Fact]
    public void A_re_issue_the_broker_never_acknowledged_is_sent_again_after_a_restart_as_cap_only_and_numbering_goes_on()
    {
        AlertingHarness first = Start(Level);
        first.Status(Site, "n1");
        Run(first, 0, (5 * 60) + 9, m => m < 10 ? 6.0 : 6.5);
        first.AutoDrain = false;
        Run(first, (5 * 60) + 10, (5 * 60) + 10, _ => 6.5); // the re-issue at 05:10:01 stays queued
        first.Crash();
        try
        {
            using AlertingHarness second = Restart(first, Level, Day.AddMinutes((5 * 60) + 12));
            string id = first.Alerts[0].CapIdentifier!;

            // The unsent re-issue on the cap topic, then the retained state the fresh broker forgot.
            Assert.Equal([Topics.AlertCap(Site, "level", "n1"), Topics.AlertActive(Site, "level", "n1")], second.Mqtt.Select(m => m.Topic));
            Assert.Equal($"{id}-r1", Value(Root(second.Cap[0]), "identifier"));

            Run(second, (5 * 60) + 13, (10 * 60) + 11, _ => 6.5);
            XElement next = Root(second.Cap[^1]);
            Assert.Equal($"{id}-r2", Value(next, "identifier"));
            Assert.Contains($"{id}-r1,", Value(next, "references"), StringComparison.Ordinal);
            Assert.Empty(second.Alerts);
        }
        finally
        {
            Hosts.DeleteQuietly(first.StateDirectory);
        }
    }

    [Fact]
    public void A_gateway_down_past_the_expiry_re_issues_at_its_first_tick()
    {
        AlertingHarness first = Start(Level);
        first.Status(Site, "n1");
        Run(first, 0, 30, m => m < 10 ? 6.0 : 6.5);
        first.Shutdown();
        try
        {
            using AlertingHarness second = Restart(first, Level, Day.AddHours(8));
            second.At(Day.AddHours(8).AddSeconds(5));
            XElement reissue = Root(Assert.Single(second.Cap));
            Assert.Equal($"{first.Alerts[0].CapIdentifier}-r1", Value(reissue, "identifier"));
            Assert.Equal(Day.AddHours(8).AddSeconds(5), Time(reissue, "sent"));
        }
        finally
        {
            Hosts.DeleteQuietly(first.StateDirectory);
        }
    }

    [Fact]
    public void An_operator_alert_is_re_issued_with_its_details_and_its_all_clear_has_an_instruction()
    {
        using AlertingHarness h = Start("{}");
        h.Status(Site, "n1", lat: 50.9375, lon: 6.9603);
        for (int m = 1; m <= 12 * 60; m++)
        {
            h.At(Day.AddMinutes(m));
        }

        // Silent from the start: offline after the 5 min heartbeat and 1 min hold, then re-issued every 5 h.
        Assert.Equal([AlertState.Raised], h.Alerts.Select(a => a.State));
        Assert.Equal(3, h.Cap.Count);
        XElement raise = Root(h.Cap[0]).Element(Cap + "info")!;
        Assert.All(h.Cap.Skip(1), x => Assert.Equal(Value(raise, "description"), Value(Root(x).Element(Cap + "info")!, "description")));
        Assert.Contains("seit 6 min nichts gesendet", Value(raise, "description"), StringComparison.Ordinal);

        h.Status(Site, "n1", lat: 50.9375, lon: 6.9603);
        h.At(Day.AddMinutes((12 * 60) + 2));
        Assert.Equal([AlertState.Raised, AlertState.Cleared], h.Alerts.Select(a => a.State));
        Assert.Equal(
            ["Die Störung ist behoben; keine weiteren Maßnahmen nötig.", "The fault has cleared; no further action needed."],
            Root(h.Cap[^1]).Elements(Cap + "info").Select(i => Value(i, "instruction")));
    }

    [Fact]
    public void Web_links_the_message_in_the_feed_or_the_configured_page_and_contact_defaults_to_the_sender()
    {
        using (AlertingHarness h = Start(Level))
        {
            h.Status(Site, "n1");
            Run(h, 0, 12, m => m < 10 ? 6.0 : 6.5);
            XElement root = Root(Assert.Single(h.Cap));
            string id = Value(root, "identifier");
            Assert.All(root.Elements(Cap + "info"), i => Assert.Equal($"https://gateway.sensorkit.test/cap/{id}.xml", Value(i, "web")));
            Assert.All(root.Elements(Cap + "info"), i => Assert.Equal("gateway.sensorkit.test", Value(i, "contact")));
        }

        using (AlertingHarness h = Start(Level, new()
        {
            ["Cap:Web"] = "https://warnung.sensorkit.example/alerts/{alertId}?message={identifier}",
            ["Cap:Contact"] = "Leitstelle Köln, +49 221 000000",
        }))
        {
            h.Status(Site, "n1");
            Run(h, 0, 12, m => m < 10 ? 6.0 : 6.5);
            XElement root = Root(Assert.Single(h.Cap));
            AlertMessage raise = Assert.Single(h.Alerts);
            Assert.All(root.Elements(Cap + "info"), i => Assert.Equal($"https://warnung.sensorkit.example/alerts/{raise.AlertId}?message={raise.CapIdentifier}", Value(i, "web")));
            Assert.All(root.Elements(Cap + "info"), i => Assert.Equal("Leitstelle Köln, +49 221 000000", Value(i, "contact")));
        }
    }

    [Fact]
    public void A_value_is_published_at_its_units_resolution_in_json_cap_parameters_and_text()
    {
        using AlertingHarness h = Start("""{ "Threshold": [ { "Id": "level", "Quantity": "water-level", "Above": 0.5 } ] }""");
        h.Status(Site, "n1");
        h.Telemetry(Site, "n1", Quantities.WaterLevel, 0.5000799999999996, Day.AddMinutes(1));

        AlertMessage raise = Assert.Single(h.Alerts);
        Assert.Equal(0.5, raise.Value);
        XElement[] infos = [.. Root(Assert.Single(h.Cap)).Elements(Cap + "info")];
        Assert.All(infos, i => Assert.Equal("0.5", i.Elements(Cap + "parameter").Single(p => Value(p, "valueName") == "sensorkit:value").Element(Cap + "value")!.Value));
        Assert.Contains("0,50 m", Value(infos[0], "description"), StringComparison.Ordinal);
        Assert.Contains("0.50 m", Value(infos[1], "description"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Pa", 100_653.2, 100_650, "1006.5 hPa")]
    [InlineData("Pa", -655.556, -660, "-6.6 hPa")]
    [InlineData("Cel", 31.449, 31.4, "31.4 °C")]
    [InlineData("m", 0.5000799999999996, 0.5, "0.50 m")]
    [InlineData("m", -0.004, 0, "0.00 m")]
    [InlineData("Ohm", 40_123.4, 40_100, "40.1 kΩ")]
    [InlineData("ppm", 1234.6, 1235, "1235 ppm")]
    [InlineData("V", 11.996, 12, "12.00 V")]
    [InlineData("%RH", 85.5, 86, "86 %")]
    [InlineData("%", -58.333, -58, "58 %")]
    [InlineData("widgets", 1.23456, 1.235, "1.235 widgets")]
    public void Rounding_follows_one_table_for_json_and_text(string unit, double value, double published, string text)
    {
        Assert.Equal(published, SensorKit.Gateway.Contracts.AlertText.Round(unit, value));
        Assert.Equal(text, SensorKit.Gateway.Contracts.AlertText.Format(unit, value, german: false, magnitude: unit == "%"));
    }
}

/// <summary>The same tests with the gateways' state in PostgreSQL.</summary>
public sealed class CapQualityOnPostgresTests(PostgresServer postgres) : CapQualityTests
{
    protected override PostgresServer? Postgres => postgres;
}
