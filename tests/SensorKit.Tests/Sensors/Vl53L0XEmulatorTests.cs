using System.Diagnostics;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;
using SensorKit.Node.Sensors.Vl53L0X;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Vl53L0X;
using static SensorKit.Tests.Sensors.SensorConfig;

namespace SensorKit.Tests.Sensors;

/// <summary>The VL53L0X emulator under the real Iot.Device.Bindings driver, and the water-level arithmetic.</summary>
public sealed class Vl53L0XEmulatorTests
{
    private static readonly SensorOptions Plain = Options("vl53l0x");

    /// <summary>
    /// ST VL53L0X datasheet DocID029104, §3.2 "I2C interface - reference registers": after power-up
    /// 0xC0 reads 0xEE, 0xC1 0xAA, 0xC2 0x10, 0x51 (16 bit) 0x0099 and 0x61 (16 bit) 0x0000.
    /// </summary>
    [Theory]
    [InlineData(0xC0, 1, 0xEE)]
    [InlineData(0xC1, 1, 0xAA)]
    [InlineData(0xC2, 1, 0x10)]
    [InlineData(0x51, 2, 0x0099)]
    [InlineData(0x61, 2, 0x0000)]
    public void Datasheet_reference_registers_read_back_over_I2C(int register, int length, int expected)
    {
        var chip = new Vl53L0XEmulator();
        using var device = Device(chip);
        Span<byte> data = stackalloc byte[length];

        device.WriteByte((byte)register);
        device.Read(data);

        Assert.Equal(expected, length == 1 ? data[0] : (data[0] << 8) | data[1]);
    }

    [Fact]
    public void The_binding_initialises_and_a_range_register_value_decodes_to_metres()
    {
        var chip = new Vl53L0XEmulator();
        chip.Set("distance", 1.234);
        using var adapter = new Vl53L0XAdapter(Device(chip), Plain);
        var values = new double[1];

        adapter.Read(values);

        // Initialisation ran ST's two reference calibrations and one per VCSEL period the long-range preset set.
        Assert.True(chip.Calibrations >= 2, $"{chip.Calibrations} reference calibrations");
        Assert.Equal(1, chip.Rangings);
        // Range register at 0x1E-0x1F: 1234 = 0x04D2 mm.
        Assert.Equal(0x04, chip.Peek(0x1E));
        Assert.Equal(0xD2, chip.Peek(0x1F));
        Assert.Equal(1.234, values[0], 1e-9);
    }

    [Theory]
    [InlineData(0.03)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(1.7655)]
    [InlineData(2.0)]
    public void Distances_round_trip_to_the_millimetre(double metres)
    {
        var chip = new Vl53L0XEmulator { BusyPolls = 3 };
        chip.Set("distance", metres);
        using var adapter = new Vl53L0XAdapter(Device(chip), Plain);
        var values = new double[1];

        adapter.Read(values);

        Assert.Equal(metres, values[0], 0.0005);
    }

    [Fact]
    public void Each_read_is_a_new_ranging()
    {
        var chip = new Vl53L0XEmulator();
        chip.Set("distance", 1.0);
        using var adapter = new Vl53L0XAdapter(Device(chip), Plain);
        var values = new double[1];
        adapter.Read(values);

        chip.Set("distance", 0.8);
        adapter.Read(values);

        Assert.Equal(2, chip.Rangings);
        Assert.Equal(0.8, values[0], 1e-9);
    }

    [Fact]
    public void No_target_reads_8190_in_the_binding_and_is_never_published_as_a_distance()
    {
        var chip = new Vl53L0XEmulator();
        chip.Set("distance", 3.5);
        using (var sensor = new Iot.Device.Vl53L0X.Vl53L0X(Device(chip)))
        {
            Assert.Equal(8190, sensor.DistanceSingleMeasurement);
        }

        using var adapter = new Vl53L0XAdapter(Device(chip), Plain);
        var values = new double[] { -1 };
        Assert.Throws<SensorReadException>(() => adapter.Read(values));
        Assert.Equal(-1, values[0]);
    }

    [Fact]
    public void The_bindings_Distance_property_hides_a_bus_error_as_8190_the_adapter_does_not()
    {
        var chip = new Vl53L0XEmulator();
        using var sensor = new Iot.Device.Vl53L0X.Vl53L0X(Device(chip)) { MeasurementMode = Iot.Device.Vl53L0X.MeasurementMode.Single };
        using var adapter = new Vl53L0XAdapter(Device(chip), Plain);
        chip.Faults = ChipFault.Nack;

        // GetDistanceOnce catches the IOException and answers "out of range".
        Assert.Equal(8190, sensor.Distance);
        Assert.Throws<IOException>(() => adapter.Read(new double[1]));
    }

    [Fact]
    public void A_ranging_that_never_finishes_times_out_with_IOException()
    {
        var chip = new Vl53L0XEmulator();
        using var adapter = new Vl53L0XAdapter(Device(chip), Plain);
        chip.NeverReady = true;
        long start = Stopwatch.GetTimestamp();

        Assert.Throws<IOException>(() => adapter.Read(new double[1]));

        // The binding's operation timeout, 500 ms.
        Assert.InRange(Stopwatch.GetElapsedTime(start), TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Out_of_range_fault_is_a_read_error()
    {
        var chip = new Vl53L0XEmulator();
        using var adapter = new Vl53L0XAdapter(Device(chip), Plain);
        chip.Faults = ChipFault.OutOfRange;

        SensorReadException e = Assert.Throws<SensorReadException>(() => adapter.Read(new double[1]));
        Assert.Contains("8190", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_nacking_chip_throws_IOException_from_the_binding()
    {
        var chip = new Vl53L0XEmulator { Faults = ChipFault.Nack };

        Assert.Throws<IOException>(() => new Vl53L0XAdapter(Device(chip), Plain));
    }

    [Fact]
    public void A_stuck_chip_keeps_its_last_range()
    {
        var chip = new Vl53L0XEmulator();
        chip.Set("distance", 1.1);
        using var adapter = new Vl53L0XAdapter(Device(chip), Plain);
        var values = new double[1];
        adapter.Read(values);

        chip.Faults = ChipFault.Stuck;
        chip.Set("distance", 0.6);
        adapter.Read(values);

        Assert.Equal(1.1, values[0], 1e-9);
    }

    [Fact]
    public void A_slow_chip_times_out_with_IOException()
    {
        var chip = new Vl53L0XEmulator();
        using var adapter = new Vl53L0XAdapter(Device(chip), Plain);
        chip.Faults = ChipFault.Slow;

        Assert.Throws<IOException>(() => adapter.Read(new double[1]));
    }

    [Fact]
    public void Unplugged_chip_comes_back_reset_and_a_new_adapter_reads_it()
    {
        var chip = new Vl53L0XEmulator();
        chip.Set("distance", 0.9);
        var values = new double[1];
        using (var first = new Vl53L0XAdapter(Device(chip), Plain))
        {
            first.Read(values);
            chip.Faults = ChipFault.Absent;
            Assert.Throws<IOException>(() => first.Read(values));
        }

        chip.Faults = ChipFault.None;
        using EmulatedI2cDevice probe = Device(chip);
        probe.WriteByte(0x01);
        // SYSTEM_SEQUENCE_CONFIG is back at its reset value; the binding had left it at 0xE8.
        Assert.Equal(0xFF, probe.ReadByte());

        using var second = new Vl53L0XAdapter(Device(chip), Plain);
        second.Read(values);
        Assert.Equal(0.9, values[0], 1e-9);
    }

    [Theory]
    [InlineData(2.0, 1.70, 0.30)]
    [InlineData(2.0, 0.50, 1.50)]
    [InlineData(3.25, 1.25, 2.00)]
    public void Water_level_is_mounting_height_minus_distance(double height, double distance, double level)
    {
        Assert.Equal(level, Vl53L0XAdapter.WaterLevel(height, distance), 1e-12);
    }

    [Fact]
    public void With_a_mounting_height_the_water_level_is_published_as_well()
    {
        SensorOptions options = Options("vl53l0x", ("MountingHeight", "2.0"));
        var chip = new Vl53L0XEmulator();
        chip.Set("distance", 0.65);
        using var adapter = new Vl53L0XAdapter(Device(chip), options);
        var values = new double[2];

        adapter.Read(values);

        IReadOnlyList<ChannelSpec> channels = SensorCatalog.Get("vl53l0x").ChannelsFor(options);
        Assert.Equal(["distance", "water-level"], channels.Select(c => c.Quantity));
        Assert.Equal(["m", "m"], channels.Select(c => c.Unit));
        Assert.Equal((0.0, 2.0), (channels[1].RangeMin, channels[1].RangeMax));
        Assert.Equal(0.65, values[0], 1e-9);
        Assert.Equal(1.35, values[1], 1e-9);
        Assert.Equal(["distance"], SensorCatalog.Get("vl53l0x").ChannelsFor(Plain).Select(c => c.Quantity));
    }

    [Theory]
    [InlineData("-1", "Node:Sensors:0:MountingHeight: -1 must be a positive number of metres")]
    [InlineData("0", "Node:Sensors:0:MountingHeight: 0 must be a positive number of metres")]
    public void An_invalid_mounting_height_names_its_key(string value, string expected)
    {
        Assert.Contains(Errors("vl53l0x", ("MountingHeight", value)), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Only_0x29_is_accepted()
    {
        Assert.Empty(Errors("vl53l0x", ("MountingHeight", "2.5")));
        Assert.Contains("Node:Sensors:0:Address: a vl53l0x answers only at 0x29, not 0x30", Errors("vl53l0x", ("Address", "0x30")));
    }
}
