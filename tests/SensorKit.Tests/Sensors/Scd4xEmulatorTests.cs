using System.Buffers.Binary;
using System.Device.I2c;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;
using SensorKit.Node.Sensors.Scd4x;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Scd4x;
using UnitsNet;

namespace SensorKit.Tests.Sensors;

/// <summary>
/// The SCD4x emulator, alone on fake time and under the real Iot.Device.Bindings driver. The driver
/// waits for the chip's 5 s period on the real clock (Environment.TickCount), so every test that
/// reads through it takes at least 5 s per reading; the protocol tests run on fake time instead.
/// </summary>
public sealed class Scd4xEmulatorTests
{
    /// <summary>SCD4x datasheet (version 1.3) §3.5.2, Table 11: 500 ppm, 25 °C, 37 %RH.</summary>
    private const ushort ExampleCo2 = 0x01F4;
    private const ushort ExampleTemperature = 0x6667;
    private const ushort ExampleHumidity = 0x5EB9;

    private static EmulatedI2cDevice Device(Scd4xEmulator chip) => new(chip, new I2cConnectionSettings(1, chip.Address));

    /// <summary>
    /// The datasheet's read_measurement example frame, word by word with CRCs. The datasheet prints
    /// 0x7B as the CRC of 0x01F4; that is the CRC of 0x7FCE from another example, and its own CRC
    /// definition (§3.11, CRC(0xBEEF) = 0x92) gives 0x33, as Sensirion's drivers compute too.
    /// </summary>
    [Fact]
    public void Datasheet_read_measurement_frame_on_fake_time()
    {
        var time = new FakeTimeProvider();
        var chip = new Scd4xEmulator(time: time);
        chip.SetRaw(ExampleCo2, ExampleTemperature, ExampleHumidity);
        using var device = Device(chip);

        device.Write([0x21, 0xB1]);
        time.Advance(Scd4xEmulator.Period);
        device.Write([0xEC, 0x05]);
        byte[] frame = new byte[9];
        device.Read(frame);

        Assert.Equal(new byte[] { 0x01, 0xF4, 0x33, 0x66, 0x67, 0xA2, 0x5E, 0xB9, 0x3C }, frame);
    }

    [Fact]
    public void Datasheet_example_decodes_through_the_real_binding()
    {
        var chip = new Scd4xEmulator();
        chip.SetRaw(ExampleCo2, ExampleTemperature, ExampleHumidity);
        using var scd = new Iot.Device.Scd4x.Scd4x(Device(chip));

        (VolumeConcentration? co2, RelativeHumidity? humidity, Temperature? temperature) = scd.ReadPeriodicMeasurement();

        // The binding divides by 2¹⁶ − 1 where the datasheet divides by 2¹⁶: 25.0027 and 37.0016.
        Assert.Equal(500.0, co2!.Value.PartsPerMillion, 9);
        Assert.Equal(25.0, temperature!.Value.DegreesCelsius, 0.005);
        Assert.Equal(37.0, humidity!.Value.Percent, 0.005);
    }

    [Fact]
    public void A_result_is_ready_every_5_s_and_read_out_once()
    {
        var time = new FakeTimeProvider();
        var chip = new Scd4xEmulator(time: time);
        using var device = Device(chip);

        device.Write([0x21, 0xB1]);
        Assert.Equal(0x8000, DataReady(device));
        device.Write([0xEC, 0x05]);
        Assert.Throws<IOException>(() => device.Read(new byte[9]));

        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0x8006, DataReady(device));
        device.Write([0xEC, 0x05]);
        device.Read(new byte[9]);

        // The buffer is emptied on read-out: nothing new until the next period.
        Assert.Equal(0x8000, DataReady(device));
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(0x8000, DataReady(device));
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(0x8006, DataReady(device));
        Assert.Equal(1, chip.Measurements);
    }

    [Fact]
    public void Idle_only_commands_are_refused_during_periodic_measurement()
    {
        var time = new FakeTimeProvider();
        var chip = new Scd4xEmulator(time: time);
        using var device = Device(chip);
        byte[] serial = new byte[9];

        device.Write([0x21, 0xB1]);
        Assert.Throws<IOException>(() => device.Write([0x36, 0x82]));
        Assert.Throws<IOException>(() => device.Write([0x36, 0x46]));
        Assert.Throws<IOException>(() => device.Write([0x21, 0xB1]));

        // set_ambient_pressure is allowed while measuring; the argument carries its own CRC.
        device.Write([0xE0, 0x00, 0x03, 0xF5, 0xDB]);
        Assert.Throws<IOException>(() => device.Write([0xE0, 0x00, 0x03, 0xF5, 0xDA]));
        Assert.Equal(1013, chip.AmbientPressureHectopascals);

        device.Write([0x3F, 0x86]);
        Assert.False(chip.Measuring);
        device.Write([0x36, 0x82]);
        device.Read(serial);
        ulong number = ((ulong)BinaryPrimitives.ReadUInt16BigEndian(serial) << 32)
            | ((ulong)BinaryPrimitives.ReadUInt16BigEndian(serial.AsSpan(3)) << 16)
            | BinaryPrimitives.ReadUInt16BigEndian(serial.AsSpan(6));
        Assert.Equal(Scd4xEmulator.SerialNumber, number);

        // Low-power periodic measurement: one result every 30 s.
        device.Write([0x21, 0xAC]);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0x8000, DataReady(device));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0x8006, DataReady(device));
    }

    [Fact]
    public async Task Physical_values_round_trip_through_the_adapter_within_resolution()
    {
        (double Co2, double Celsius, double Humidity)[] cases =
        [
            (0, -10.0, 0.0),
            (420, 4.5, 25.0),
            (1_250, 21.3, 48.7),
            (5_000, 37.0, 80.0),
            (40_000, 60.0, 100.0),
        ];

        // One chip per case, read concurrently: each first reading takes the chip's 5 s.
        double[][] results = await Task.WhenAll(cases.Select(c => Task.Factory.StartNew(
            () =>
            {
                var chip = new Scd4xEmulator();
                chip.Set("co2", c.Co2);
                chip.Set("temperature", c.Celsius);
                chip.Set("humidity", c.Humidity);
                using var adapter = new Scd4xAdapter(Device(chip));
                double[] values = new double[3];
                adapter.Read(values);
                return values;
            },
            TestContext.Current.CancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)));

        for (int i = 0; i < cases.Length; i++)
        {
            // CO2 in whole ppm; 16-bit words for T (0.0027 °C) and RH (0.0015 %RH), plus the
            // binding's 2¹⁶ − 1 divisor against the datasheet's 2¹⁶ (at most 0.0027 °C, 0.0015 %RH).
            Assert.Equal(cases[i].Co2, results[i][0], 0.5);
            Assert.Equal(cases[i].Celsius, results[i][1], 0.005);
            Assert.Equal(cases[i].Humidity, results[i][2], 0.003);
        }
    }

    [Fact]
    public void A_stuck_chip_keeps_reporting_its_last_values()
    {
        var chip = new Scd4xEmulator();
        chip.Set("co2", 650.0);
        using var adapter = new Scd4xAdapter(Device(chip));
        double[] values = new double[3];
        adapter.Read(values);

        chip.Faults = ChipFault.Stuck;
        chip.Set("co2", 2_400.0);
        adapter.Read(values);

        Assert.Equal(650.0, values[0]);
        Assert.Equal(2, chip.Measurements);
    }

    [Fact]
    public void Out_of_range_reports_co2_beyond_the_output_range()
    {
        var chip = new Scd4xEmulator { Faults = ChipFault.OutOfRange };
        using var adapter = new Scd4xAdapter(Device(chip));
        double[] values = new double[3];

        adapter.Read(values);

        Assert.Equal(65_535.0, values[0]);
        Assert.True(values[0] > SensorCatalog.Get("scd4x").Channels[0].RangeMax);
    }

    [Fact]
    public void A_nacking_chip_throws_IOException_from_the_binding()
    {
        var chip = new Scd4xEmulator { Faults = ChipFault.Nack };

        Assert.Throws<IOException>(() => new Scd4xAdapter(Device(chip)));
    }

    [Fact]
    public void A_slow_chip_times_out_with_IOException()
    {
        var chip = new Scd4xEmulator { Faults = ChipFault.Slow, SlowTransfer = TimeSpan.FromMilliseconds(5) };

        Assert.Throws<IOException>(() => new Scd4xAdapter(Device(chip)));
    }

    [Fact]
    public void An_interval_shorter_than_the_measurement_period_is_rejected_naming_the_key()
    {
        SensorType type = SensorCatalog.Get("scd4x");

        string error = Assert.Single(type.Validate!(new SensorOptions { Type = "scd4x", Interval = TimeSpan.FromSeconds(1) }, "Node:Sensors:2"));
        Assert.StartsWith("Node:Sensors:2:Interval: 00:00:01 is shorter than the SCD4x's 5 s measurement period", error, StringComparison.Ordinal);
        Assert.Empty(type.Validate(new SensorOptions { Type = "scd4x", Interval = TimeSpan.FromSeconds(30) }, "Node:Sensors:2"));
    }

    private static int DataReady(EmulatedI2cDevice device)
    {
        Span<byte> word = stackalloc byte[3];
        device.Write([0xE4, 0xB8]);
        device.Read(word);
        return (word[0] << 8) | word[1];
    }
}

/// <summary>
/// How the SCD4x adapter gets through a corrupted word and a power cycle. Each test waits out two or
/// three of the chip's 5 s periods on the real clock, so they sit in a class of their own, which
/// xunit runs beside the others.
/// </summary>
public sealed class Scd4xEmulatorRecoveryTests
{
    private static EmulatedI2cDevice Device(Scd4xEmulator chip) => new(chip, new I2cConnectionSettings(1, chip.Address));

    [Fact]
    public void A_corrupted_crc_makes_the_adapter_throw_at_once_rather_than_return_the_old_value()
    {
        var chip = new Scd4xEmulator();
        chip.Set("co2", 800.0);
        using var adapter = new Scd4xAdapter(Device(chip));
        double[] values = new double[3];
        adapter.Read(values);
        Assert.Equal(800.0, values[0]);

        chip.Set("co2", 1_600.0);
        chip.Faults = ChipFault.CorruptCrc;

        // The binding would take the corrupted data-ready word for "not ready" and poll for 6 s.
        var error = Assert.Throws<SensorReadException>(() => adapter.Read(values));
        Assert.Contains("CRC mismatch", error.Message, StringComparison.Ordinal);

        // The result is still waiting in the chip: read at once, not another period later.
        chip.Faults = ChipFault.None;
        int notReadyBefore = chip.NotReadyReads;
        adapter.Read(values);
        Assert.Equal(1_600.0, values[0]);
        Assert.Equal(notReadyBefore, chip.NotReadyReads);
    }

    [Fact]
    public void Unplugged_chip_comes_back_idle_and_the_adapter_restarts_it()
    {
        var chip = new Scd4xEmulator();
        chip.Set("co2", 700.0);
        var adapter = new Scd4xAdapter(Device(chip));
        double[] values = new double[3];
        adapter.Read(values);

        chip.Faults = ChipFault.Absent;
        Assert.Throws<IOException>(() => adapter.Read(values));
        chip.Faults = ChipFault.None;
        chip.Set("co2", 900.0);

        adapter.Read(values);
        Assert.Equal(900.0, values[0]);
        Assert.True(chip.Measuring);

        // Closing an adapter whose chip has gone must not throw: the sampler does it on failure.
        chip.Faults = ChipFault.Absent;
        adapter.Dispose();
    }
}
