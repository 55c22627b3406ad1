using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.EndToEnd;

/// <summary>The same data path with the gateway joining an external broker: a real Mosquitto.</summary>
public sealed class ExternalBrokerTests
{
    [Fact]
    public async Task Gateway_and_nodes_work_through_mosquitto()
    {
        await using MosquittoBroker mosquitto = await MosquittoBroker.StartAsync();
        Dictionary<string, string?> gatewayConfig = new()
        {
            ["Broker:Mode"] = "External",
            ["Broker:Uri"] = $"mqtt://127.0.0.1:{mosquitto.Port}",
            ["Rules:Threshold:0:Id"] = "cold",
            ["Rules:Threshold:0:Quantity"] = "temperature",
            // The emulator's default is 20 °C: below 25 °C raises at once.
            ["Rules:Threshold:0:Below"] = "25",
        };
        using IHost gateway = Hosts.Gateway(gatewayConfig);
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await using MqttProbe probe = await MqttProbe.StartAsync(mosquitto.Port);

        using IHost node = Hosts.Node(Hosts.SimulatedNodeConfig("m-1", mosquitto.Port));
        await node.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            MqttProbe.Received t = await probe.WaitForAsync(m => m.Topic == Topics.Telemetry("test", "m-1", "bme280", "pressure"), TimeSpan.FromSeconds(20), "pressure telemetry via mosquitto");
            Assert.True(ProtocolJson.TryReadTelemetry(t.Payload, out TelemetryMessage msg, out string error), error);
            Assert.Equal(101_325, msg.Mean, 1.0);

            await probe.WaitForAsync(m => m.Topic == Topics.AlertEvent("test", "cold", "m-1"), TimeSpan.FromSeconds(20), "alert via mosquitto");
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
            await gateway.StopAsync(CancellationToken.None);
        }
    }
}
