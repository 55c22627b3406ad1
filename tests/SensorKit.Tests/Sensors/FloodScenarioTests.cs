using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;
using SensorKit.Protocol;
using SensorKit.Simulation;
using SensorKit.Simulation.Scenarios;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Sensors;

/// <summary>The shipped flood scenario, played through the emulators and the real drivers.</summary>
public sealed class FloodScenarioTests
{
    // A river gauge: the VL53L0X 2 m above the gauge zero, and a 0.5-4.5 V (0-5 m) pressure
    // transducer on the ADS1115 behind a 10 k / 20 k divider (0.333-3.0 V at the ADC).
    private static readonly SensorOptions Gauge = new() { Id = "gauge", Type = "vl53l0x", MountingHeight = 2.0 };

    private static readonly SensorOptions Transducer = new()
    {
        Id = "transducer",
        Type = "ads1115",
        Scale = new ScaleOptions { FromVolts = 0.5 * 2 / 3, ToVolts = 4.5 * 2 / 3, FromValue = 0, ToValue = 5, Quantity = Quantities.WaterLevel, Unit = Units.Metre },
    };

    [Fact]
    public void The_shipped_file_loads()
    {
        Scenario flood = Scenario.Load(SimulationSetup.ResolveScenario("flood"));

        Assert.Equal("flood", flood.Name);
        Assert.Equal(TimeSpan.FromHours(3.5), flood.Duration);
        Assert.Contains(flood.Signals, s => s.Sensor == "vl53l0x" && s.Quantity == Quantities.Distance);
        Assert.Contains(flood.Signals, s => s.Sensor == "ads1115" && s.Quantity == Quantities.Voltage);
    }

    [Fact]
    public void Water_level_rises_3_cm_per_minute_crests_and_recedes_on_both_sensors()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 7, 14, 0, 0, 0, TimeSpan.Zero));
        var node = new NodeOptions { Id = "gauge-1", Site = "test", Sensors = [Gauge, Transducer] };
        SimulatedI2cBus bus = SimulationSetup.Build(node, new SimulationOptions { Enabled = true, Scenario = "flood" }, time);
        using ISensorAdapter gauge = Open(bus, Gauge);
        using ISensorAdapter transducer = Open(bus, Transducer);
        var optical = new double[2];
        var pressure = new double[2];
        var levels = new List<(double Minutes, double Optical, double Pressure)>();

        for (int minute = 0; minute <= 210; minute += 5)
        {
            time.SetUtcNow(time.Start + TimeSpan.FromMinutes(minute));
            gauge.Read(optical);
            transducer.Read(pressure);
            levels.Add((minute, optical[1], pressure[1]));
        }

        // Both sensors see the same water, within their noise (2 mm ranging, 0.5 mV ≈ 1 mm).
        Assert.All(levels, l => Assert.Equal(l.Optical, l.Pressure, 0.015));
        Assert.All(levels, l => Assert.Equal(2.0 - l.Optical, DistanceAt(l.Minutes), 0.01));

        Assert.Equal(0.30, At(levels, 0).Optical, 0.01);
        // Rising: 3 cm/min between 00:30 and 01:10, so 15 cm per 5-minute step.
        for (int minute = 35; minute <= 70; minute += 5)
        {
            Assert.Equal(0.15, At(levels, minute).Optical - At(levels, minute - 5).Optical, 0.01);
        }

        // The crest holds at 1.50 m until 01:40.
        Assert.All(levels.Where(l => l.Minutes is >= 70 and <= 100), l => Assert.Equal(1.50, l.Pressure, 0.01));
        // Receding 1.25 cm/min to 0.50 m at 03:00, then steady.
        Assert.Equal(1.50 - (0.0125 * 40), At(levels, 140).Optical, 0.01);
        Assert.Equal(0.50, At(levels, 210).Pressure, 0.01);
        Assert.InRange(levels.MaxBy(l => l.Optical).Minutes, 70, 100);
    }

    [Fact]
    public async Task A_node_publishes_the_water_level_rising_then_receding()
    {
        int port = FreePort.Get();
        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        // 30 scenario minutes per second from 00:20: the rise, the crest and the recession in about 6 s.
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("gauge-1", port, scenario: "flood");
        config["Node:Sensors:0:Id"] = "gauge";
        config["Node:Sensors:0:Type"] = "vl53l0x";
        config["Node:Sensors:0:Address"] = "0x29";
        config["Node:Sensors:0:MountingHeight"] = "2.0";
        config["Simulation:Speed"] = "1800";
        config["Simulation:StartAt"] = "00:20:00";
        using IHost node = Hosts.Node(config);
        await node.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            string topic = Topics.Telemetry("test", "gauge-1", "gauge", Quantities.WaterLevel);
            var means = new List<double>();
            var seen = new HashSet<long>();
            await probe.WaitForAsync(
                m =>
                {
                    // The probe offers messages it already had first; count each window once.
                    if (m.Topic != topic || !ProtocolJson.TryReadTelemetry(m.Payload, out TelemetryMessage t, out _) || !seen.Add(t.Sequence))
                    {
                        return false;
                    }

                    Assert.Equal(Units.Metre, t.Unit);
                    means.Add(t.Mean);
                    // Done once the level has crested above 1.4 m and come down by 30 cm since.
                    return means.Max() > 1.4 && t.Mean < means.Max() - 0.3;
                },
                TimeSpan.FromSeconds(30),
                "a water level that rose above 1.4 m and receded");

            Assert.True(means[0] < 1.0, $"first window {means[0]:0.00} m should be before the crest");
            int crest = means.IndexOf(means.Max());
            Assert.True(crest > 0 && crest < means.Count - 1, $"crest in window {crest} of {means.Count}: {string.Join(", ", means.Select(v => v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))}");
            Assert.Contains(probe.All, m => m.Topic == Topics.Telemetry("test", "gauge-1", "gauge", Quantities.Distance));
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
            await gateway.StopAsync(CancellationToken.None);
        }
    }

    private static ISensorAdapter Open(SimulatedI2cBus bus, SensorOptions sensor)
    {
        SensorType type = SensorCatalog.Get(sensor.Type);
        return type.Open(bus.Open(sensor.Bus, type.DefaultAddress), sensor);
    }

    private static (double Minutes, double Optical, double Pressure) At(List<(double Minutes, double Optical, double Pressure)> levels, double minutes) =>
        levels.Single(l => l.Minutes == minutes);

    /// <summary>The scenario's distance segments, without noise.</summary>
    private static double DistanceAt(double minutes) => minutes switch
    {
        < 30 => 1.70,
        < 70 => 1.70 - ((minutes - 30) * 0.03),
        < 100 => 0.50,
        < 180 => 0.50 + ((minutes - 100) * 0.0125),
        _ => 1.50,
    };
}
