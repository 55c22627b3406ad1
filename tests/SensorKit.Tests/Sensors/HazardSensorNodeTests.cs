using Microsoft.Extensions.Hosting;
using SensorKit.Node;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Sensors;

/// <summary>The ADS1115, VL53L0X, INA219 and BH1750 in a running node: configuration errors at start, channels on the wire.</summary>
public sealed class HazardSensorNodeTests
{
    private static readonly (string Key, string? Value)[] ScaledTransducer =
    [
        ("Node:Sensors:2:Id", "transducer"),
        ("Node:Sensors:2:Type", "ads1115"),
        ("Node:Sensors:2:Interval", "00:00:00.100"),
        ("Node:Sensors:2:Scale:FromVolts", "0.5"),
        ("Node:Sensors:2:Scale:ToVolts", "3.0"),
        ("Node:Sensors:2:Scale:FromValue", "0"),
        ("Node:Sensors:2:Scale:ToValue", "5"),
        ("Node:Sensors:2:Scale:Quantity", "water-level"),
        ("Node:Sensors:2:Scale:Unit", "m"),
    ];

    [Theory]
    [InlineData("Node:Sensors:2:Scale:ToVolts", "4.5", "Node:Sensors:2:Scale:ToVolts: 4.5 V is outside the measurable 0…4.096 V")]
    [InlineData("Node:Sensors:2:Scale:Unit", "", "Node:Sensors:2:Scale:Unit: '' must be a SenML unit symbol")]
    [InlineData("Node:Sensors:2:Input", "A7", "Node:Sensors:2:Input: 'A7' is not one of AIN0")]
    [InlineData("Node:Sensors:2:FullScale", "fast", "Node:Sensors:2:FullScale")]
    public async Task An_invalid_ADC_setting_stops_the_node_with_one_line_naming_the_key(string key, string value, string expected)
    {
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("node-1", FreePort.Get());
        config["Node:Sensors:1:Type"] = "ina219";
        config["Node:Sensors:1:Interval"] = "00:00:01";
        foreach ((string k, string? v) in ScaledTransducer)
        {
            config[k] = v;
        }

        config[key] = value;
        using IHost host = Hosts.Node(config);
        var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        int code = await NodeHost.RunAsync(host, error, timeout.Token);

        Assert.Equal(2, code);
        Assert.Single(error.ToString().TrimEnd().Split('\n'));
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
        // The INA219 at its defaults and the BME280 are fine: only the broken key is reported.
        Assert.DoesNotContain("Node:Sensors:0", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Node:Sensors:1", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_with_all_four_publishes_every_configured_channel()
    {
        int port = FreePort.Get();
        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("river-1", port);
        config["Node:Sensors:0:Id"] = "gauge";
        config["Node:Sensors:0:Type"] = "vl53l0x";
        config["Node:Sensors:0:Address"] = null;
        config["Node:Sensors:0:MountingHeight"] = "2.0";
        config["Node:Sensors:1:Id"] = "supply";
        config["Node:Sensors:1:Type"] = "ina219";
        config["Node:Sensors:1:Interval"] = "00:00:00.100";
        foreach ((string k, string? v) in ScaledTransducer)
        {
            config[k] = v;
        }

        config["Node:Sensors:3:Id"] = "light";
        config["Node:Sensors:3:Type"] = "bh1750";
        config["Node:Sensors:3:Interval"] = "00:00:00.500";
        using IHost node = Hosts.Node(config);
        await node.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            (string Sensor, string Quantity, string Unit)[] expected =
            [
                ("gauge", Quantities.Distance, Units.Metre),
                ("gauge", Quantities.WaterLevel, Units.Metre),
                ("supply", Quantities.Voltage, Units.Volt),
                ("supply", Quantities.Current, Units.Ampere),
                ("supply", Quantities.Power, Units.Watt),
                ("transducer", Quantities.Voltage, Units.Volt),
                ("transducer", Quantities.WaterLevel, Units.Metre),
                ("light", Quantities.Illuminance, Units.Lux),
            ];
            foreach ((string sensor, string quantity, string unit) in expected)
            {
                string topic = Topics.Telemetry("test", "river-1", sensor, quantity);
                MqttProbe.Received m = await probe.WaitForAsync(r => r.Topic == topic, TimeSpan.FromSeconds(20), topic);
                Assert.True(ProtocolJson.TryReadTelemetry(m.Payload, out TelemetryMessage t, out string error), error);
                Assert.Equal(unit, t.Unit);
                Assert.Equal(0, t.Errors);
            }

            // Emulator defaults: 1.0 m distance, 12 V and 0.25 A, 1.0 V on the ADC, 300 lx.
            Assert.Equal(1.0, Mean(probe, "gauge", Quantities.WaterLevel), 0.001);
            Assert.Equal(3.0, Mean(probe, "supply", Quantities.Power), 0.01);
            Assert.Equal(1.0, Mean(probe, "transducer", Quantities.WaterLevel), 0.001);
            Assert.Equal(300, Mean(probe, "light", Quantities.Illuminance), 1);
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
            await gateway.StopAsync(CancellationToken.None);
        }
    }

    private static double Mean(MqttProbe probe, string sensor, string quantity)
    {
        string topic = Topics.Telemetry("test", "river-1", sensor, quantity);
        Assert.True(ProtocolJson.TryReadTelemetry(probe.All.First(m => m.Topic == topic).Payload, out TelemetryMessage t, out string error), error);
        return t.Mean;
    }
}
