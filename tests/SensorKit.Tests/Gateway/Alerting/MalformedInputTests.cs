using System.Text;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>
/// Bad messages on node topics are dropped and counted by reason; they never throw, never reach rule state,
/// and a run with garbage in between gives exactly the alerts of the same run without it.
/// </summary>
public class MalformedInputTests : AlertingTests
{
    private const string Site = "test";

    private const string Rules = """
        { "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35, "Hysteresis": 1, "Hold": "00:02:00",
          "Stages": [ { "Above": 38, "Severity": "Severe" } ] } ] }
        """;

    private static string Valid(string node, double mean, int minute, string site = Site, int startMinute = -1) =>
        $$"""{"schema":"sensorkit.telemetry.v1","site":"{{site}}","node":"{{node}}","sensor":"bme280","quantity":"temperature","unit":"Cel","seq":{{100_000 + minute}},"start":"{{Day.AddMinutes(startMinute < 0 ? minute - 1 : startMinute):yyyy-MM-ddTHH:mm:ssZ}}","end":"{{Day.AddMinutes(minute):yyyy-MM-ddTHH:mm:ssZ}}","count":6,"expected":6,"errors":0,"min":{{mean}},"max":{{mean}},"mean":{{mean}},"stddev":0,"first":{{mean}},"last":{{mean}},"quality":"good","flags":[],"backfill":false}""";

    /// <summary>Garbage of every kind, each with the reason it must be counted under.</summary>
    private static IEnumerable<(string Topic, byte[] Payload, string Reason)> Garbage(int minute)
    {
        string topic = Topics.Telemetry(Site, "n1", "bme280", "temperature");
        string good = Valid("n1", 40, minute);
        (string, byte[], string) T(string payload, string reason, string? on = null) => (on ?? topic, Encoding.UTF8.GetBytes(payload), reason);

        yield return T("{not json", TelemetryIngest.Malformed);
        yield return T("[1,2,3]", TelemetryIngest.Malformed);
        yield return T("\"just a string\"", TelemetryIngest.Malformed);
        yield return T(good.Replace("\"mean\":40", "\"mean\":\"hot\"", StringComparison.Ordinal), TelemetryIngest.Malformed);
        yield return T(good.Replace("\"seq\":", "\"seq\":\"one\",\"x\":", StringComparison.Ordinal), TelemetryIngest.Malformed);
        yield return T(good.Replace("\"mean\":40", "\"mean\":null", StringComparison.Ordinal), TelemetryIngest.Malformed);
        yield return T(good.Replace("\"mean\":40", "\"mean\":4000", StringComparison.Ordinal), TelemetryIngest.Malformed); // outside [min, max]
        yield return T(good.Replace("\"count\":6", "\"count\":0", StringComparison.Ordinal), TelemetryIngest.Malformed);
        yield return T(good.Replace("\"count\":6", "\"count\":1e40", StringComparison.Ordinal), TelemetryIngest.Malformed);
        yield return T(good.Replace("sensorkit.telemetry.v1", "sensorkit.telemetry.v2", StringComparison.Ordinal), TelemetryIngest.Malformed);
        yield return T(good.Replace("\"end\":\"", "\"end\":\"yesterday", StringComparison.Ordinal), TelemetryIngest.Malformed);
        yield return T(good.Replace("\"flags\":[]", "\"flags\":[\"on-fire\"]", StringComparison.Ordinal), TelemetryIngest.Malformed);
        yield return T(string.Concat(Enumerable.Repeat("{\"a\":", 64)) + "1" + new string('}', 64), TelemetryIngest.Malformed);
        yield return T(new string(' ', ProtocolJson.MaxPayloadBytes) + good, TelemetryIngest.Malformed);
        yield return (topic, [0xFF, 0xFE, 0x00, 0x7B, 0xC3, 0x28], TelemetryIngest.Malformed);
        // Topic injection: a payload about n1 on n2's topic, or about another site.
        yield return T(good, TelemetryIngest.TopicMismatch, Topics.Telemetry(Site, "n2", "bme280", "temperature"));
        yield return T(Valid("n1", 40, minute, "elsewhere"), TelemetryIngest.TopicMismatch);
        yield return T(good.Replace("\"quantity\":\"temperature\"", "\"quantity\":\"pressure\"", StringComparison.Ordinal), TelemetryIngest.TopicMismatch);
        // A window from the future (a node with a broken clock) or one that ends before it starts.
        yield return T(Valid("n1", 40, minute + 60), TelemetryIngest.Implausible);
        yield return T(Valid("n1", 40, minute, startMinute: minute + 1), TelemetryIngest.Implausible);
        // A node that never announced itself.
        yield return T(Valid("ghost", 40, minute), TelemetryIngest.UnknownNode, Topics.Telemetry(Site, "ghost", "bme280", "temperature"));
        // Not a node topic at all, or a status that lies about whose it is.
        yield return T(good, TelemetryIngest.NotANodeTopic, $"sensorkit/v1/{Site}/n1/telemetry/bme280/temperature/extra");
        yield return T(good, TelemetryIngest.NotANodeTopic, Topics.AlertEvent(Site, "heat", "n1"));
        yield return T("{\"schema\":\"sensorkit.status.v1\",\"site\":\"test\",\"node\":\"n1\",\"state\":\"exploded\",\"time\":\"2026-07-01T00:00:00Z\"}", TelemetryIngest.Malformed, Topics.Status(Site, "n1"));
        yield return T("{\"schema\":\"sensorkit.status.v1\",\"site\":\"test\",\"node\":\"n2\",\"state\":\"lost\",\"time\":\"2026-07-01T00:00:00Z\"}", TelemetryIngest.TopicMismatch, Topics.Status(Site, "n1"));
    }

    private static double Temperature(int m) => m < 10 ? 30 : m < 20 ? 36 : m < 30 ? 39 : m < 40 ? 36 : 30;

    private AlertingHarness Run(bool withGarbage)
    {
        AlertingHarness h = Start(Rules);
        h.Status(Site, "n1");
        h.Status(Site, "n2");
        for (int m = 0; m < 50; m++)
        {
            if (withGarbage)
            {
                foreach ((string topic, byte[] payload, _) in Garbage(m))
                {
                    h.Ingest.Handle(topic, payload);
                }

                // An empty retained message only deletes the retained value: ignored, not an error.
                h.Ingest.Handle(Topics.Telemetry(Site, "n1", "bme280", "temperature"), []);
            }

            h.Telemetry(Site, "n1", Quantities.Temperature, Temperature(m), Day.AddMinutes(m));
        }

        return h;
    }

    [Fact]
    public void Garbage_is_dropped_and_counted_by_reason_and_the_alerts_are_those_of_a_clean_run()
    {
        using AlertingHarness clean = Run(withGarbage: false);
        using AlertingHarness dirty = Run(withGarbage: true);

        Assert.Equal(4, clean.Alerts.Count);
        Assert.Equal(clean.Timeline(), dirty.Timeline());
        Assert.Equal(clean.Alerts.Select(a => (a.AlertId, a.Revision, a.Value)), dirty.Alerts.Select(a => (a.AlertId, a.Revision, a.Value)));

        var expected = Garbage(0).GroupBy(g => g.Reason).ToDictionary(g => g.Key, g => 50L * g.Count());
        Assert.Equal(expected.OrderBy(e => e.Key), dirty.Ingest.RejectedBy.OrderBy(e => e.Key));
        Assert.Equal(expected.Values.Sum(), dirty.Ingest.Rejected);
        Assert.Equal(clean.Ingest.Accepted, dirty.Ingest.Accepted);
        // Not even the lying status reached node state: n1 is still online, no operator alert.
        Assert.Empty(dirty.Timeline("node-offline"));
    }

    [Fact]
    public void Randomly_damaged_payloads_never_throw_and_each_is_counted_once()
    {
        using AlertingHarness h = Start(Rules);
        h.Status(Site, "n1");
        var random = new Random(20260701);
        string topic = Topics.Telemetry(Site, "n1", "bme280", "temperature");
        int sent = 0;
        for (int i = 0; i < 3000; i++)
        {
            byte[] payload = Encoding.UTF8.GetBytes(Valid("n1", 30 + random.Next(12), i + 1));
            switch (random.Next(4))
            {
                case 0:
                    payload[random.Next(payload.Length)] = (byte)random.Next(256);
                    break;
                case 1:
                    payload = payload[..random.Next(1, payload.Length)];
                    break;
                case 2:
                    int at = random.Next(payload.Length);
                    payload = [.. payload[..at], (byte)"{}[]\",:0e-"[random.Next(10)], .. payload[at..]];
                    break;
                default:
                    Array.Reverse(payload, random.Next(payload.Length / 2), random.Next(1, 8));
                    break;
            }

            h.At(Day.AddMinutes(i + 1));
            h.Ingest.Handle(topic, payload);
            sent++;
        }

        Assert.Equal(sent + 1, h.Ingest.Accepted + h.Ingest.Rejected + h.Ingest.Duplicates);
        Assert.True(h.Ingest.Rejected > sent / 2, $"only {h.Ingest.Rejected} of {sent} damaged payloads were rejected");

        // Whatever got through, the channel still takes the next real windows.
        long accepted = h.Ingest.Accepted;
        for (int m = 3001; m <= 3010; m++)
        {
            h.At(Day.AddMinutes(m));
            h.Ingest.Handle(topic, Encoding.UTF8.GetBytes(Valid("n1", 30, m)));
        }

        Assert.Equal(accepted + 10, h.Ingest.Accepted);
    }
}

/// <summary>The same tests with the gateways' state in PostgreSQL.</summary>
public sealed class MalformedInputOnPostgresTests(PostgresServer postgres) : MalformedInputTests
{
    protected override PostgresServer? Postgres => postgres;
}
