using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway;

/// <summary>Bad messages on node topics are dropped and counted; the gateway and its rules carry on.</summary>
public sealed class TelemetryIngestTests
{
    private static byte[] Status(string node) =>
        Encoding.UTF8.GetBytes($$"""
            {"schema":"sensorkit.status.v1","site":"test","node":"{{node}}","state":"online","time":"2026-07-01T12:00:00Z",
             "location":{"lat":50.94,"lon":6.96},"sensors":[{"id":"bme280","type":"bme280","bus":1,"address":"0x76","health":"ok","consecutiveFailures":0}]}
            """);

    private static byte[] Valid(string node, double mean, long seq = 1) =>
        Encoding.UTF8.GetBytes($$"""
            {"schema":"sensorkit.telemetry.v1","site":"test","node":"{{node}}","sensor":"bme280","quantity":"temperature","unit":"Cel",
             "seq":{{seq}},"start":"2026-07-01T12:00:00Z","end":"2026-07-01T12:00:10Z","count":10,"expected":10,"errors":0,
             "min":{{mean}},"max":{{mean}},"mean":{{mean}},"stddev":0,"first":{{mean}},"last":{{mean}},"quality":"good","flags":[],"backfill":false}
            """);

    [Fact]
    public async Task Malformed_messages_are_dropped_counted_and_do_not_disturb_the_rules()
    {
        int port = FreePort.Get();
        Dictionary<string, string?> config = Hosts.GatewayConfig(port);
        config["Rules:Threshold:0:Id"] = "heat";
        config["Rules:Threshold:0:Quantity"] = "temperature";
        config["Rules:Threshold:0:Above"] = "35";
        using IHost gateway = Hosts.Gateway(config);
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        TelemetryIngest ingest = gateway.Services.GetRequiredService<TelemetryIngest>();
        await using MqttProbe probe = await MqttProbe.StartAsync(port);
        // Each node speaks through its own account, as the broker requires.
        await using MqttProbe n1 = await MqttProbe.StartAsync(port, filter: null, account: TestAccounts.Node(port, "test", "n1"));
        await using MqttProbe ghost = await MqttProbe.StartAsync(port, filter: null, account: TestAccounts.Node(port, "test", "ghost"));
        string topic = Topics.Telemetry("test", "n1", "bme280", "temperature");

        // n1 announces itself; "ghost" never does.
        await n1.PublishAsync(Topics.Status("test", "n1"), Status("n1"));

        byte[][] bad =
        [
            "{not json"u8.ToArray(),
            "[1,2,3]"u8.ToArray(),
            Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Valid("n1", 40)).Replace("\"mean\":40", "\"mean\":\"hot\"", StringComparison.Ordinal)),
            Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Valid("n1", 40)).Replace("sensorkit.telemetry.v1", "sensorkit.telemetry.v9", StringComparison.Ordinal)),
            new byte[ProtocolJson.MaxPayloadBytes + 1],
            // Topic injection: a payload that claims to be another node than its topic says.
            Valid("n2", 40),
            Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Valid("n1", 40)).Replace("\"count\":10", "\"count\":0", StringComparison.Ordinal)),
        ];
        foreach (byte[] payload in bad)
        {
            await n1.PublishAsync(topic, payload);
        }

        // Well-formed, but from a node that never sent its birth status.
        await ghost.PublishAsync(Topics.Telemetry("test", "ghost", "bme280", "temperature"), Valid("ghost", 40));

        // A well-formed message after all that still reaches the rules.
        await n1.PublishAsync(topic, Valid("n1", 40));
        await probe.WaitForAsync(m => m.Topic == Topics.AlertEvent("test", "heat", "n1"), TimeSpan.FromSeconds(10), "alert from the valid message");

        Assert.Equal(bad.Length + 1, ingest.Rejected);
        Assert.Equal(1, ingest.RejectedBy[TelemetryIngest.UnknownNode]);
        Assert.Equal(1, ingest.RejectedBy[TelemetryIngest.TopicMismatch]);
        Assert.Equal(bad.Length - 1, ingest.RejectedBy[TelemetryIngest.Malformed]);
        Assert.Equal(2, ingest.Accepted); // n1's status and its one good window
        Assert.DoesNotContain(probe.All, m => m.Topic.Contains("/ghost", StringComparison.Ordinal) && m.Topic.Contains("/alerts/", StringComparison.Ordinal));
        await gateway.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("{\"schema\":\"sensorkit.telemetry.v1\"}", "field 'site': is missing")]
    [InlineData("{\"schema\":\"sensorkit.telemetry.v1\",\"site\":\"a b\"}", "field 'site': must be 1-64 characters")]
    [InlineData("{\"schema\":\"nope\"}", "field 'schema': expected 'sensorkit.telemetry.v1', got 'nope'")]
    [InlineData("17", "payload must be a JSON object")]
    public void Reader_names_the_offending_field(string json, string expected)
    {
        Assert.False(ProtocolJson.TryReadTelemetry(Encoding.UTF8.GetBytes(json), out _, out string error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
