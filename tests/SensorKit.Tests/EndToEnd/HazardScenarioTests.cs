using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Simulation;
using SensorKit.Simulation.Scenarios;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.EndToEnd;

/// <summary>The shipped hazard scenarios for the gas and CO2 sensors, played through real hosts and read back over MQTT.</summary>
public sealed class HazardScenarioTests
{
    [Fact]
    public async Task Wildfire_smoke_collapses_the_published_gas_resistance_and_raises_the_smoke_rule()
    {
        int port = FreePort.Get();
        Dictionary<string, string?> gatewayConfig = Hosts.GatewayConfig(port);
        gatewayConfig["Rules:Threshold:0:Id"] = "smoke-gas-resistance";
        gatewayConfig["Rules:Threshold:0:Quantity"] = Quantities.GasResistance;
        gatewayConfig["Rules:Threshold:0:Below"] = "40000";
        gatewayConfig["Rules:Threshold:0:Hysteresis"] = "10000";
        gatewayConfig["Rules:Threshold:0:Severity"] = "Severe";
        gatewayConfig["Rules:Threshold:0:Headline"] = "Smoke: BME680 gas resistance below 40 kΩ";
        using IHost gateway = Hosts.Gateway(gatewayConfig);
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        // Ten scenario minutes per second from 01:20: baseline for about a second, then the smoke
        // front takes the resistance from 150 kΩ below 40 kΩ in about 2.6 s.
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("ridge-1", port, "wildfire-smoke", window: "00:00:01", interval: "00:00:00.250");
        config["Node:Sensors:0:Type"] = "bme680";
        config["Node:Sensors:0:Address"] = "0x76";
        config["Simulation:Speed"] = "600";
        config["Simulation:StartAt"] = "01:20:00";
        using IHost node = Hosts.Node(config);
        await node.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            string gasTopic = Topics.Telemetry("test", "ridge-1", "bme680", Quantities.GasResistance);
            TimeSpan timeout = TimeSpan.FromSeconds(30);
            MqttProbe.Received smoky = await probe.WaitForAsync(m => m.Topic == gasTopic && Read(m).Mean < 40_000, timeout, "gas resistance below 40 kΩ");

            TelemetryMessage[] gas = probe.All.Where(m => m.Topic == gasTopic).Select(Read).OrderBy(t => t.Sequence).ToArray();
            TelemetryMessage baseline = gas[0];
            TestContext.Current.TestOutputHelper?.WriteLine($"gas-resistance window means (Ω): {string.Join(", ", gas.Select(t => $"{t.Mean:0}"))}");
            Assert.Equal(Units.Ohm, baseline.Unit);
            Assert.True(baseline.Mean > 100_000, $"first window {baseline.Mean:0} Ω, expected the 150 kΩ clean-air baseline");
            Assert.True(Read(smoky).Mean < baseline.Mean / 2.5, $"fell only from {baseline.Mean:0} to {Read(smoky).Mean:0} Ω");

            // Window by window the resistance only goes down while the front passes: a rise is
            // allowed only within four standard deviations of the difference of two window means
            // (the emulator's noise is 1.5 kΩ per sample; the first window may hold a single sample).
            TelemetryMessage[] untilSmoky = gas.TakeWhile(t => t.Sequence <= Read(smoky).Sequence).ToArray();
            Assert.True(untilSmoky.Length >= 3, $"{untilSmoky.Length} windows");
            Assert.All(
                untilSmoky.Zip(untilSmoky.Skip(1)),
                pair =>
                {
                    double noise = 4 * 1_500 * Math.Sqrt(1.0 / pair.First.Count + 1.0 / pair.Second.Count);
                    Assert.True(pair.Second.Mean < pair.First.Mean + noise, $"{pair.First.Mean:0} → {pair.Second.Mean:0} Ω (noise bound {noise:0} Ω)");
                });

            string alertTopic = Topics.AlertEvent("test", "smoke-gas-resistance", "ridge-1");
            MqttProbe.Received raised = await probe.WaitForAsync(m => m.Topic == alertTopic && m.Text.Contains("\"raised\"", StringComparison.Ordinal), timeout, "smoke alert");
            Assert.True(ProtocolJson.TryReadAlert(raised.Payload, out AlertMessage? alert, out string alertError), alertError);
            Assert.Equal(Quantities.GasResistance, alert.Quantity);
            // "Below" includes the threshold (docs/rules.md), and the alert carries the value rounded.
            Assert.True(alert.Value <= 40_000, $"raised at {alert.Value:0} Ω");

            // Hotter and drier as the fire nears.
            string temperatureTopic = Topics.Telemetry("test", "ridge-1", "bme680", Quantities.Temperature);
            TelemetryMessage[] temperature = probe.All.Where(m => m.Topic == temperatureTopic).Select(Read).OrderBy(t => t.Sequence).ToArray();
            Assert.True(temperature[^1].Mean > temperature[0].Mean + 1, $"temperature {temperature[0].Mean:0.00} → {temperature[^1].Mean:0.00} °C");
            Assert.Equal(0, gateway.Services.GetRequiredService<TelemetryIngest>().Rejected);
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
            await gateway.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void Shelter_co2_scenario_drives_an_scd4x_past_3000_ppm_and_back()
    {
        Scenario scenario = Scenario.Load(SimulationSetup.ResolveScenario("shelter-co2"));
        Signal co2 = Assert.Single(scenario.Signals, s => s.Quantity == Quantities.Co2);

        Assert.Equal(420.0, co2.At(TimeSpan.FromMinutes(10)), 60.0);
        Assert.True(co2.At(TimeSpan.FromHours(2)) > 1_000, "stuffy by 02:00");
        Assert.Equal(3_000.0, co2.At(TimeSpan.FromHours(3.75)), 60.0);
        Assert.True(co2.At(TimeSpan.FromHours(5.5)) < 1_000, "ventilated by 05:30");

        // Every signal reaches the SCD4x emulator: it measures all three quantities.
        var chip = SimulatedI2cBus.CreateEmulator("scd4x", 0x62);
        Assert.All(scenario.Signals, s => Assert.Contains(s.Quantity, chip.Quantities));
    }

    private static TelemetryMessage Read(MqttProbe.Received m) =>
        ProtocolJson.TryReadTelemetry(m.Payload, out TelemetryMessage t, out string error) ? t : throw new InvalidDataException(error);
}
