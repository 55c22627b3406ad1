using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Protocol;
using SensorKit.Simulation;
using SensorKit.Simulation.Emulators;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.EndToEnd;

/// <summary>A sensor that stops answering is reported and retried; it never stops the other sensors.</summary>
public sealed class SensorFailureTests
{
    [Fact]
    public async Task An_unplugged_sensor_is_reported_failed_others_keep_publishing_and_it_is_picked_up_again()
    {
        int port = FreePort.Get();
        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("two-1", port);
        config["Node:Sensors:0:Id"] = "inside";
        config["Node:Sensors:1:Id"] = "outside";
        config["Node:Sensors:1:Type"] = "bme280";
        config["Node:Sensors:1:Address"] = "0x77";
        config["Node:Sensors:1:Interval"] = "00:00:00.100";
        using IHost node = Hosts.Node(config);
        ChipEmulator outside = node.Services.GetRequiredService<SimulatedI2cBus>().Find(1, 0x77)!;
        outside.Faults = ChipFault.Absent;
        await node.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            TimeSpan timeout = TimeSpan.FromSeconds(20);
            await probe.WaitForAsync(m => IsStatus(m, "outside", SensorHealth.Failed), timeout, "status with 'outside' failed");
            int before = probe.All.Count(m => m.Topic == Topics.Telemetry("test", "two-1", "inside", "temperature"));
            await probe.WaitForAsync(m => m.Topic == Topics.Telemetry("test", "two-1", "inside", "temperature") && probe.All.Count(x => x.Topic == m.Topic) > before + 1, timeout, "more telemetry from 'inside'");
            Assert.DoesNotContain(probe.All, m => m.Topic == Topics.Telemetry("test", "two-1", "outside", "temperature"));

            // Plugged back in: found again without a restart.
            outside.Faults = ChipFault.None;
            await probe.WaitForAsync(m => IsStatus(m, "outside", SensorHealth.Ok), timeout, "status with 'outside' ok again");
            await probe.WaitForAsync(m => m.Topic == Topics.Telemetry("test", "two-1", "outside", "temperature"), timeout, "telemetry from 'outside'");
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
            await gateway.StopAsync(CancellationToken.None);
        }
    }

    private static bool IsStatus(MqttProbe.Received m, string sensor, SensorHealth health) =>
        m.Topic == Topics.Status("test", "two-1")
        && ProtocolJson.TryReadStatus(m.Payload, out NodeStatusMessage? s, out _)
        && s.Sensors.Any(x => x.Id == sensor && x.Health == health);
}
