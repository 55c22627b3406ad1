using System.Device.I2c;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Node.Sensors;
using SensorKit.Node.Sensors.Sensirion;
using SensorKit.Node.Sensors.Sht3x;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Sht3x;

namespace SensorKit.Tests.Sensors;

/// <summary>The SHT3x emulator under the real Iot.Device.Bindings driver, and the adapter's guard against stale values.</summary>
public sealed class Sht3xEmulatorTests
{
    private static EmulatedI2cDevice Device(Sht3xEmulator chip) => new(chip, new I2cConnectionSettings(1, chip.Address));

    /// <summary>
    /// Sensirion SHT3x-DIS datasheet §4.12, Table 20: CRC(0xBEEF) = 0x92; §4.13: T = −45 + 175·S_T/(2¹⁶ − 1),
    /// RH = 100·S_RH/(2¹⁶ − 1). S_T = 0xBEEF (48879) gives 85.52 °C and S_RH = 0x8000 gives 50.0008 %RH;
    /// the binding rounds both to 0.1.
    /// </summary>
    [Fact]
    public void Datasheet_crc_example_and_conversion_through_the_real_binding()
    {
        Assert.Equal(0x92, SensirionCrc.Compute(0xBEEF));

        var chip = new Sht3xEmulator();
        chip.SetRaw(0xBEEF, 0x8000);
        using var raw = Device(chip);
        raw.Write([0x2C, 0x06]);
        Span<byte> frame = stackalloc byte[6];
        raw.Read(frame);
        Assert.Equal(new byte[] { 0xBE, 0xEF, 0x92, 0x80, 0x00, SensirionCrc.Compute(0x8000) }, frame.ToArray());

        using var sht = new Iot.Device.Sht3x.Sht3x(Device(chip));
        Assert.Equal(85.5, sht.Temperature.DegreesCelsius, 3);
        Assert.Equal(50.0, sht.Humidity.Percent, 3);
    }

    [Theory]
    [InlineData(-40.0, 0.0)]
    [InlineData(-10.3, 12.5)]
    [InlineData(0.0, 35.0)]
    [InlineData(21.7, 50.0)]
    [InlineData(38.4, 87.2)]
    [InlineData(85.0, 99.0)]
    [InlineData(125.0, 100.0)]
    public void Physical_values_round_trip_through_the_adapter_within_resolution(double celsius, double humidity)
    {
        var chip = new Sht3xEmulator();
        chip.Set("temperature", celsius);
        chip.Set("humidity", humidity);
        using var adapter = new Sht3xAdapter(Device(chip));
        Span<double> values = stackalloc double[2];

        adapter.Read(values);

        // 16-bit words (0.0027 °C, 0.0015 %RH per LSB), then the binding rounds to 0.1.
        Assert.Equal(celsius, values[0], 0.06);
        Assert.Equal(humidity, values[1], 0.06);
        Assert.Equal(2, chip.Measurements);
    }

    [Fact]
    public void A_corrupted_crc_makes_the_binding_keep_the_old_value_but_the_adapter_throws()
    {
        var chip = new Sht3xEmulator();
        chip.Set("temperature", 20.0);
        using var sht = new Iot.Device.Sht3x.Sht3x(Device(chip));
        Assert.Equal(20.0, sht.Temperature.DegreesCelsius, 3);

        chip.Set("temperature", 30.0);
        chip.Faults = ChipFault.CorruptCrc;

        // The binding's trap: it measured 30 °C, saw the bad CRC, and hands back 20 °C as if new.
        Assert.Equal(20.0, sht.Temperature.DegreesCelsius, 3);

        chip.Faults = ChipFault.None;
        using var adapter = new Sht3xAdapter(Device(chip));
        Span<double> values = stackalloc double[2];
        adapter.Read(values);
        Assert.Equal(30.0, values[0], 0.06);

        chip.Set("temperature", 35.0);
        chip.Faults = ChipFault.CorruptCrc;
        var error = Assert.Throws<SensorReadException>(() => adapter.Read(new double[2]));
        Assert.Contains("CRC mismatch in word 0", error.Message, StringComparison.Ordinal);

        chip.Faults = ChipFault.None;
        adapter.Read(values);
        Assert.Equal(35.0, values[0], 0.06);
    }

    [Fact]
    public void A_read_before_the_measurement_has_finished_is_not_acknowledged()
    {
        var time = new FakeTimeProvider();
        var chip = new Sht3xEmulator(time: time);
        using var device = Device(chip);
        Span<byte> frame = stackalloc byte[6];

        // High repeatability without clock stretching: 15 ms maximum, no data before that.
        device.Write([0x24, 0x00]);
        time.Advance(TimeSpan.FromMilliseconds(14));
        Assert.Throws<IOException>(() => device.Read(new byte[6]));
        Assert.Equal(1, chip.NotReadyReads);

        time.Advance(TimeSpan.FromMilliseconds(1));
        device.Read(frame);
        Assert.Equal(SensirionCrc.Compute(frame[0], frame[1]), frame[2]);

        // A result is read once: asking again without a new command gets a NACK, not the old data.
        Assert.Throws<IOException>(() => device.Read(new byte[6]));
    }

    [Fact]
    public void Status_register_reports_reset_and_heater_and_an_unknown_command_is_refused()
    {
        var chip = new Sht3xEmulator();
        using var device = Device(chip);
        Span<byte> status = stackalloc byte[3];

        device.Write([0xF3, 0x2D]);
        device.Read(status);
        Assert.Equal(0x8010, (status[0] << 8) | status[1]);

        device.Write([0x30, 0x41]);
        device.Write([0x30, 0x6D]);
        device.Write([0xF3, 0x2D]);
        device.Read(status);
        Assert.Equal(0x2000, (status[0] << 8) | status[1]);
        Assert.True(chip.HeaterOn);

        Assert.Throws<IOException>(() => device.Write([0x12, 0x34]));
        device.Write([0x30, 0xA2]);
        Assert.False(chip.HeaterOn);
    }

    [Fact]
    public void A_nacking_chip_throws_IOException_from_the_binding()
    {
        var chip = new Sht3xEmulator { Faults = ChipFault.Nack };

        Assert.Throws<IOException>(() => new Sht3xAdapter(Device(chip)));
    }

    [Fact]
    public void Unplugged_chip_fails_reads_and_comes_back_reset()
    {
        var chip = new Sht3xEmulator();
        chip.Set("temperature", 22.0);
        using var adapter = new Sht3xAdapter(Device(chip));
        using var device = Device(chip);
        device.Write([0x30, 0x41]);
        device.Write([0x30, 0x6D]);

        chip.Faults = ChipFault.Absent;
        Assert.Throws<IOException>(() => adapter.Read(new double[2]));

        chip.Faults = ChipFault.None;
        Span<byte> status = stackalloc byte[3];
        device.Write([0xF3, 0x2D]);
        device.Read(status);
        Assert.Equal(0x10, status[1] & 0x10);
        Assert.False(chip.HeaterOn);

        Span<double> values = stackalloc double[2];
        adapter.Read(values);
        Assert.Equal(22.0, values[0], 0.06);
    }

    [Fact]
    public void A_stuck_chip_keeps_reporting_its_last_values()
    {
        var chip = new Sht3xEmulator();
        chip.Set("temperature", 20.0);
        using var adapter = new Sht3xAdapter(Device(chip));
        Span<double> values = stackalloc double[2];
        adapter.Read(values);

        chip.Faults = ChipFault.Stuck;
        chip.Set("temperature", 30.0);
        adapter.Read(values);

        Assert.Equal(20.0, values[0], 0.06);
    }

    [Fact]
    public void Out_of_range_reports_130_degrees_beyond_the_measuring_range()
    {
        var chip = new Sht3xEmulator { Faults = ChipFault.OutOfRange };
        using var adapter = new Sht3xAdapter(Device(chip));
        Span<double> values = stackalloc double[2];

        adapter.Read(values);

        Assert.Equal(130.0, values[0], 3);
        Assert.True(values[0] > SensorCatalog.Get("sht3x").Channels[0].RangeMax);
    }

    [Fact]
    public void A_slow_chip_times_out_with_IOException()
    {
        var chip = new Sht3xEmulator { Faults = ChipFault.Slow, SlowTransfer = TimeSpan.FromMilliseconds(5) };

        var error = Assert.Throws<IOException>(() => new Sht3xAdapter(Device(chip)));
        Assert.Contains("timed out", error.Message, StringComparison.Ordinal);
    }
}
