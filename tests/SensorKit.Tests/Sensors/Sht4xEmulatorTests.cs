using System.Device.I2c;
using Iot.Device.Sht4x;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Node.Sensors;
using SensorKit.Node.Sensors.Sensirion;
using SensorKit.Node.Sensors.Sht4x;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Sht4x;
using UnitsNet;

namespace SensorKit.Tests.Sensors;

/// <summary>The SHT4x emulator under the real Iot.Device.Bindings driver.</summary>
public sealed class Sht4xEmulatorTests
{
    private static EmulatedI2cDevice Device(Sht4xEmulator chip) => new(chip, new I2cConnectionSettings(1, chip.Address));

    /// <summary>
    /// Sensirion SHT4x datasheet, "Conversion of Signal Output": T = −45 + 175·S_T/(2¹⁶ − 1),
    /// RH = −6 + 125·S_RH/(2¹⁶ − 1). S_T = 0x6666 (26214 = 0.4·(2¹⁶ − 1)) gives 25.0000 °C, S_RH = 0x8000 (32768)
    /// gives 56.5010 %RH (56.500954); "Checksum Calculation": CRC(0xBEEF) = 0x92.
    /// </summary>
    [Fact]
    public void Datasheet_conversion_and_crc_through_the_real_binding()
    {
        Assert.Equal(0x92, SensirionCrc.Compute(0xBEEF));

        var chip = new Sht4xEmulator();
        chip.SetRaw(0x6666, 0x8000);
        using var sht = new Iot.Device.Sht4x.Sht4x(Device(chip));

        (RelativeHumidity? humidity, Temperature? temperature) = sht.ReadHumidityAndTemperature();

        Assert.Equal(25.0000, temperature!.Value.DegreesCelsius, 4);
        Assert.Equal(56.5010, humidity!.Value.Percent, 4);
        Assert.Equal((int)Sht4xEmulator.SerialNumber, sht.ReadSerialNumber());
    }

    [Theory]
    [InlineData(-40.0, 0.0)]
    [InlineData(-5.25, 8.0)]
    [InlineData(0.0, 33.3)]
    [InlineData(23.45, 50.0)]
    [InlineData(41.0, 76.5)]
    [InlineData(90.0, 97.0)]
    [InlineData(125.0, 100.0)]
    public void Physical_values_round_trip_through_the_adapter_within_resolution(double celsius, double humidity)
    {
        var chip = new Sht4xEmulator();
        chip.Set("temperature", celsius);
        chip.Set("humidity", humidity);
        using var adapter = new Sht4xAdapter(Device(chip));
        Span<double> values = stackalloc double[2];

        adapter.Read(values);

        // Half an LSB of the 16-bit words: 0.0014 °C and 0.001 %RH.
        Assert.Equal(celsius, values[0], 0.002);
        Assert.Equal(humidity, values[1], 0.002);
        Assert.Equal(1, chip.Measurements);
    }

    [Fact]
    public void A_corrupted_crc_makes_the_binding_return_null_and_the_adapter_throw()
    {
        var chip = new Sht4xEmulator();
        chip.Set("temperature", 20.0);
        using var adapter = new Sht4xAdapter(Device(chip));
        Span<double> values = stackalloc double[2];
        adapter.Read(values);
        Assert.Equal(20.0, values[0], 0.002);

        chip.Set("temperature", 30.0);
        chip.Faults = ChipFault.CorruptCrc;
        var error = Assert.Throws<SensorReadException>(() => adapter.Read(new double[2]));
        Assert.Contains("CRC mismatch", error.Message, StringComparison.Ordinal);

        using var sht = new Iot.Device.Sht4x.Sht4x(Device(chip));
        (RelativeHumidity? humidity, Temperature? temperature) = sht.ReadHumidityAndTemperature();
        Assert.Null(temperature);
        Assert.Null(humidity);

        chip.Faults = ChipFault.None;
        adapter.Read(values);
        Assert.Equal(30.0, values[0], 0.002);
    }

    [Fact]
    public void A_read_before_the_measurement_has_finished_is_not_acknowledged()
    {
        var time = new FakeTimeProvider();
        var chip = new Sht4xEmulator(time: time);
        using var device = Device(chip);

        device.WriteByte(0xFD);
        time.Advance(TimeSpan.FromMilliseconds(8));
        Assert.Throws<IOException>(() => device.Read(new byte[6]));

        time.Advance(TimeSpan.FromMilliseconds(0.3));
        Span<byte> frame = stackalloc byte[6];
        device.Read(frame);
        Assert.Equal(SensirionCrc.Compute(frame[3], frame[4]), frame[5]);
        Assert.Throws<IOException>(() => device.Read(new byte[6]));
        Assert.Throws<IOException>(() => device.WriteByte(0x42));
    }

    [Fact]
    public void A_nacking_chip_throws_IOException_from_the_binding()
    {
        var chip = new Sht4xEmulator { Faults = ChipFault.Nack };

        Assert.Throws<IOException>(() => new Sht4xAdapter(Device(chip)));
    }

    [Fact]
    public void Unplugged_chip_fails_reads_and_is_read_again_when_back()
    {
        var chip = new Sht4xEmulator();
        chip.Set("temperature", 22.0);
        using var adapter = new Sht4xAdapter(Device(chip));

        chip.Faults = ChipFault.Absent;
        Assert.Throws<IOException>(() => adapter.Read(new double[2]));
        chip.Faults = ChipFault.None;

        Span<double> values = stackalloc double[2];
        adapter.Read(values);
        Assert.Equal(22.0, values[0], 0.002);
    }

    [Fact]
    public void A_result_pending_when_power_is_lost_does_not_survive()
    {
        var time = new FakeTimeProvider();
        var chip = new Sht4xEmulator(time: time);
        using var device = Device(chip);

        device.WriteByte(0xFD);
        time.Advance(TimeSpan.FromMilliseconds(9));
        chip.Faults = ChipFault.Absent;
        Assert.Throws<IOException>(() => device.Read(new byte[6]));
        chip.Faults = ChipFault.None;

        Assert.Throws<IOException>(() => device.Read(new byte[6]));
        Assert.Equal(1, chip.NotReadyReads);
    }

    [Fact]
    public void A_stuck_chip_keeps_reporting_its_last_values()
    {
        var chip = new Sht4xEmulator();
        chip.Set("humidity", 40.0);
        using var adapter = new Sht4xAdapter(Device(chip));
        Span<double> values = stackalloc double[2];
        adapter.Read(values);

        chip.Faults = ChipFault.Stuck;
        chip.Set("humidity", 80.0);
        adapter.Read(values);

        Assert.Equal(40.0, values[1], 0.002);
    }

    [Fact]
    public void Out_of_range_reports_130_degrees_beyond_the_measuring_range()
    {
        var chip = new Sht4xEmulator { Faults = ChipFault.OutOfRange };
        using var adapter = new Sht4xAdapter(Device(chip));
        Span<double> values = stackalloc double[2];

        adapter.Read(values);

        Assert.Equal(130.0, values[0], 3);
        Assert.True(values[0] > SensorCatalog.Get("sht4x").Channels[0].RangeMax);
    }

    [Fact]
    public void A_slow_chip_times_out_with_IOException()
    {
        var chip = new Sht4xEmulator { Faults = ChipFault.Slow, SlowTransfer = TimeSpan.FromMilliseconds(5) };

        Assert.Throws<IOException>(() => new Sht4xAdapter(Device(chip)));
    }
}
