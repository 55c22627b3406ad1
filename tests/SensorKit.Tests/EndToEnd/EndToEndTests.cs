using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.EndToEnd;

/// <summary>
/// The whole data path on one machine: embedded broker, several simulated nodes running the real
/// firmware code against the BME280 emulator, the gateway's rules, and a plain MQTT subscriber.
/// </summary>
public sealed class EndToEndTests
{
    // Temperature rises through 35 °C and falls back below 34 °C (threshold − hysteresis) within seconds.
    private const string HeatSpike = """
        {
          "name": "heat-spike",
          "signals": [
            { "quantity": "temperature", "segments": [
              { "kind": "constant", "at": "00:00:00", "value": 30 },
              { "kind": "ramp", "at": "00:00:01", "duration": "00:00:02", "value": 30, "to": 38 },
              { "kind": "constant", "at": "00:00:03", "value": 38 },
              { "kind": "ramp", "at": "00:00:05", "duration": "00:00:02", "value": 38, "to": 30 }
            ] }
          ]
        }
        """;

    [Fact]
    public async Task Telemetry_flows_and_an_alert_is_raised_then_cleared()
    {
        int port = FreePort.Get();
        string scenario = Path.Combine(Path.GetTempPath(), $"heat-spike-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(scenario, HeatSpike, TestContext.Current.CancellationToken);

        Dictionary<string, string?> gatewayConfig = Hosts.GatewayConfig(port);
        gatewayConfig["Rules:Threshold:0:Id"] = "heat-air-temperature";
        gatewayConfig["Rules:Threshold:0:Quantity"] = "temperature";
        gatewayConfig["Rules:Threshold:0:Above"] = "35";
        gatewayConfig["Rules:Threshold:0:Hysteresis"] = "1";
        gatewayConfig["Rules:Threshold:0:Severity"] = "Severe";

        using IHost gateway = Hosts.Gateway(gatewayConfig);
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        var nodes = new List<IHost>
        {
            Hosts.Node(Hosts.SimulatedNodeConfig("hot-1", port, scenario)),
            Hosts.Node(Hosts.SimulatedNodeConfig("calm-1", port)),
            Hosts.Node(Hosts.SimulatedNodeConfig("calm-2", port)),
        };
        try
        {
            foreach (IHost n in nodes)
            {
                await n.StartAsync(TestContext.Current.CancellationToken);
            }

            TimeSpan timeout = TimeSpan.FromSeconds(30);
            foreach (string node in new[] { "hot-1", "calm-1", "calm-2" })
            {
                MqttProbe.Received t = await probe.WaitForAsync(m => m.Topic == Topics.Telemetry("test", node, "bme280", "temperature"), timeout, $"temperature from {node}");
                Assert.True(ProtocolJson.TryReadTelemetry(t.Payload, out TelemetryMessage msg, out string error), error);
                Assert.Equal(node, msg.Node);
                Assert.InRange(msg.Count, 1, 10);
                Assert.Equal("Cel", msg.Unit);
            }

            MqttProbe.Received raised = await probe.WaitForAsync(m => m.Topic == Topics.AlertEvent("test", "heat-air-temperature", "hot-1") && m.Text.Contains("\"raised\"", StringComparison.Ordinal), timeout, "alert raise");
            Assert.True(ProtocolJson.TryReadAlert(raised.Payload, out AlertMessage? raise, out string raiseError), raiseError);
            Assert.Equal(AlertState.Raised, raise.State);
            Assert.True(raise.Value >= 35, $"raised at {raise.Value}");
            Assert.Equal("Severe", raise.Severity);

            MqttProbe.Received cleared = await probe.WaitForAsync(m => m.Topic == Topics.AlertEvent("test", "heat-air-temperature", "hot-1") && m.Text.Contains("\"cleared\"", StringComparison.Ordinal), timeout, "alert clear");
            Assert.True(ProtocolJson.TryReadAlert(cleared.Payload, out AlertMessage? clear, out string clearError), clearError);
            Assert.Equal(raise.AlertId, clear.AlertId);
            Assert.True(clear.Value <= 34, $"cleared at {clear.Value}, must be at or below threshold − hysteresis");

            // The retained active state was set on raise and emptied on clear.
            string activeTopic = Topics.AlertActive("test", "heat-air-temperature", "hot-1");
            await probe.WaitForAsync(m => m.Topic == activeTopic && m.Payload.Length == 0, timeout, "emptied active state");
            Assert.Contains(probe.All, m => m.Topic == activeTopic && m.Text.Contains(raise.AlertId, StringComparison.Ordinal));

            // The calm nodes raised nothing, and the gateway dropped nothing.
            Assert.DoesNotContain(probe.All, m => m.Topic.Contains("/alerts/event/", StringComparison.Ordinal) && !m.Topic.EndsWith("/hot-1", StringComparison.Ordinal));
            Assert.Equal(0, gateway.Services.GetRequiredService<TelemetryIngest>().Rejected);

            // Birth: each node announced itself online with its sensor healthy.
            MqttProbe.Received status = await probe.WaitForAsync(m => m.Topic == Topics.Status("test", "calm-1"), timeout, "status");
            Assert.True(ProtocolJson.TryReadStatus(status.Payload, out NodeStatusMessage? s, out string statusError), statusError);
            Assert.Equal(NodeState.Online, s.State);
            Assert.Equal(SensorHealth.Ok, Assert.Single(s.Sensors).Health);
        }
        finally
        {
            foreach (IHost n in nodes)
            {
                await n.StopAsync(CancellationToken.None);
                n.Dispose();
            }

            File.Delete(scenario);
        }

        // A clean stop says "offline" itself, before the broker goes.
        await probe.WaitForAsync(m => m.Topic == Topics.Status("test", "hot-1") && m.Text.Contains("\"offline\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "offline status");
        await gateway.StopAsync(CancellationToken.None);
    }
}
