using Iot.Device.Adc;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;
using SensorKit.Node.Sensors.Ina219;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Ina219;
using static SensorKit.Tests.Sensors.SensorConfig;

namespace SensorKit.Tests.Sensors;

/// <summary>The INA219 emulator under the real Iot.Device.Bindings driver, and the adapter's calibration.</summary>
public sealed class Ina219EmulatorTests
{
    private static readonly SensorOptions Plain = Options("ina219");

    private static ushort ReadRegister(EmulatedI2cDevice device, byte register)
    {
        Span<byte> data = stackalloc byte[2];
        device.Write([register]);
        device.Read(data);
        return (ushort)((data[0] << 8) | data[1]);
    }

    /// <summary>
    /// TI INA219 datasheet SBOS448G §8.5.1, the configure/measure/calculate example (Table 3 in revision F):
    /// 10 A through 2 mΩ at 12 V common mode, 40 mV shunt range, 16 V bus range. Configuration 019Fh,
    /// shunt 07D0h (20 mV), bus 5D98h (11.98 V), calibration 5000h (20480), current 2710h (10.0 A at
    /// 1 mA/bit), power 1766h (119.8 W at 20 mW/bit).
    /// </summary>
    [Fact]
    public void Datasheet_calibration_example_through_the_real_binding()
    {
        var chip = new Ina219Emulator(shuntResistance: 0.002);
        chip.Set("current", 10.0);
        chip.Set("voltage", 11.98);
        using EmulatedI2cDevice device = Device(chip);
        using var ina = new Ina219(device);

        device.Write([0x00, 0x01, 0x9F]);
        ina.SetCalibration(0x5000, 0.001f);

        Assert.Equal(0.020, ina.ReadShuntVoltage().Volts, 1e-9);
        Assert.Equal(11.98, ina.ReadBusVoltage().Volts, 1e-9);
        Assert.Equal(10.0, ina.ReadCurrent().Amperes, 1e-4);
        Assert.Equal(119.8, (double)ina.ReadPower().Watts, 1e-3);
        Assert.Equal(0x07D0, ReadRegister(device, 0x01));
        Assert.Equal(0x5D98, ReadRegister(device, 0x02) & 0xFFF8);
        Assert.Equal(0x2710, ReadRegister(device, 0x04));
        Assert.Equal(0x1766, ReadRegister(device, 0x03));
    }

    [Fact]
    public void The_calibration_formula_gives_the_datasheet_register_for_a_1_mA_LSB()
    {
        // Current_LSB = MaxCurrent / 2^15 = 1 mA for 32.768 A; Cal = trunc(0.04096 / (0.001 A × 0.002 Ω)) = 20480.
        Ina219Calibration cal = Ina219Calibration.For(0.002, 32.768);

        Assert.Equal(20480, cal.Register);
        Assert.Equal(0.001, cal.CurrentLsb, 1e-12);
    }

    [Fact]
    public void Default_calibration_is_for_a_0_1_ohm_shunt_and_3_2_A()
    {
        var chip = new Ina219Emulator();
        using var adapter = new Ina219Adapter(Device(chip), Plain);

        // 0.04096 / (3.2 A / 32768 × 0.1 Ω) = 4194.3 → 4194; the ±320 mV range (PGA /8, PG = 11).
        Assert.Equal(4194, chip.CalibrationRegister);
        Assert.Equal(0b11, (chip.ConfigRegister >> 11) & 0x03);
        Assert.Equal(0.04096 / (4194 * 0.1), adapter.Calibration.CurrentLsb, 1e-15);
    }

    [Theory]
    [InlineData(0.1, 0.39, Ina219PgaSensitivity.PlusOrMinus40mv)]
    [InlineData(0.1, 0.4, Ina219PgaSensitivity.PlusOrMinus80mv)]
    [InlineData(0.1, 0.75, Ina219PgaSensitivity.PlusOrMinus80mv)]
    [InlineData(0.1, 1.0, Ina219PgaSensitivity.PlusOrMinus160mv)]
    [InlineData(0.01, 20.0, Ina219PgaSensitivity.PlusOrMinus320mv)]
    [InlineData(0.1, 3.2, Ina219PgaSensitivity.PlusOrMinus320mv)]
    public void The_smallest_shunt_range_that_holds_the_maximum_current_unclipped_is_chosen(double ohms, double amperes, Ina219PgaSensitivity expected)
    {
        Assert.Equal(expected, Ina219Calibration.For(ohms, amperes).Pga);
    }

    [Theory]
    [InlineData(5.1, 0.45)]
    [InlineData(12.6, 0.25)]
    [InlineData(12.0, 3.0)]
    [InlineData(13.8, -1.5)]
    [InlineData(24.0, 0.0)]
    [InlineData(26.0, 0.1)]
    public void Supply_values_round_trip_through_the_adapter(double volts, double amperes)
    {
        var chip = new Ina219Emulator();
        chip.Set("voltage", volts);
        chip.Set("current", amperes);
        using var adapter = new Ina219Adapter(Device(chip), Plain);
        var values = new double[3];

        adapter.Read(values);

        // Bus 4 mV per LSB; shunt 10 µV per LSB through 0.1 Ω = 0.1 mA; power 20 current LSBs and truncation.
        Assert.Equal(volts, values[0], 0.002);
        Assert.Equal(amperes, values[1], 0.0002);
        Assert.Equal(volts * Math.Abs(amperes), values[2], 0.01 + (0.002 * volts * Math.Abs(amperes)));
    }

    [Fact]
    public void A_charging_current_is_negative_although_the_binding_reads_it_as_unsigned()
    {
        var chip = new Ina219Emulator();
        chip.Set("current", -0.5);
        using var adapter = new Ina219Adapter(Device(chip), Plain);
        var values = new double[3];

        adapter.Read(values);

        Assert.Equal(-0.5, values[1], 0.0002);
        using var ina = new Ina219(Device(chip));
        ina.SetCalibration(adapter.Calibration.Register, (float)adapter.Calibration.CurrentLsb);
        Assert.True(ina.ReadCurrent().Amperes > 5, "the binding decodes -0.5 A as a large positive current");
    }

    [Fact]
    public void A_24_V_bus_is_positive_although_the_binding_sign_extends_it()
    {
        var chip = new Ina219Emulator();
        chip.Set("voltage", 24.0);
        using var adapter = new Ina219Adapter(Device(chip), Plain);
        var values = new double[3];

        adapter.Read(values);

        Assert.Equal(24.0, values[0], 0.002);
        using var ina = new Ina219(Device(chip));
        Assert.Equal(24.0 - 32.768, ina.ReadBusVoltage().Volts, 0.002);
    }

    [Fact]
    public void Every_read_waits_for_a_new_triggered_conversion()
    {
        var chip = new Ina219Emulator { BusyPolls = 4 };
        chip.Set("current", 0.2);
        using var adapter = new Ina219Adapter(Device(chip), Plain);
        var values = new double[3];
        adapter.Read(values);
        int before = chip.Conversions;

        chip.Set("current", 0.7);
        adapter.Read(values);

        Assert.Equal(before + 1, chip.Conversions);
        Assert.Equal(0.7, values[1], 0.0002);
        // Triggered mode (011): after its one conversion the chip idles until the next trigger.
        Assert.Equal(0b011, chip.ConfigRegister & 0x07);
    }

    [Fact]
    public void Reading_power_clears_the_conversion_ready_flag()
    {
        var chip = new Ina219Emulator();
        using var adapter = new Ina219Adapter(Device(chip), Plain);
        adapter.Read(new double[3]);
        using EmulatedI2cDevice device = Device(chip);

        Assert.Equal(0, ReadRegister(device, 0x02) & 0x02);
    }

    [Fact]
    public void A_current_beyond_the_shunt_range_is_a_read_error()
    {
        var chip = new Ina219Emulator { Faults = ChipFault.OutOfRange };
        using var adapter = new Ina219Adapter(Device(chip), Plain);

        SensorReadException e = Assert.Throws<SensorReadException>(() => adapter.Read(new double[3]));
        Assert.Contains("±320 mV limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_math_overflow_is_a_read_error()
    {
        // 0.1 A maximum through 0.1 Ω: the calibration register saturates at FFFEh, so 0.35 A (35 mV,
        // inside the 40 mV range) computes a current register of 55998, beyond 16 bits: OVF.
        var chip = new Ina219Emulator();
        chip.Set("current", 0.35);
        using var adapter = new Ina219Adapter(Device(chip), Options("ina219", ("MaxCurrent", "0.1")));

        SensorReadException e = Assert.Throws<SensorReadException>(() => adapter.Read(new double[3]));
        Assert.Contains("OVF", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_nacking_chip_throws_IOException_from_the_binding()
    {
        var chip = new Ina219Emulator { Faults = ChipFault.Nack };

        Assert.Throws<IOException>(() => new Ina219Adapter(Device(chip), Plain));
    }

    [Fact]
    public void A_stuck_chip_keeps_its_last_results()
    {
        var chip = new Ina219Emulator();
        chip.Set("voltage", 12.4);
        using var adapter = new Ina219Adapter(Device(chip), Plain);
        var values = new double[3];
        adapter.Read(values);

        chip.Faults = ChipFault.Stuck;
        chip.Set("voltage", 11.0);
        adapter.Read(values);

        Assert.Equal(12.4, values[0], 0.002);
    }

    [Fact]
    public void A_slow_chip_times_out_with_IOException()
    {
        var chip = new Ina219Emulator();
        using var adapter = new Ina219Adapter(Device(chip), Plain);
        chip.Faults = ChipFault.Slow;

        Assert.Throws<IOException>(() => adapter.Read(new double[3]));
    }

    [Fact]
    public void Unplugged_chip_comes_back_reset_and_a_new_adapter_reads_it()
    {
        var chip = new Ina219Emulator();
        chip.Set("voltage", 12.2);
        chip.Set("current", 0.3);
        var values = new double[3];
        using (var first = new Ina219Adapter(Device(chip), Plain))
        {
            first.Read(values);
            chip.Faults = ChipFault.Absent;
            Assert.Throws<IOException>(() => first.Read(values));
        }

        chip.Faults = ChipFault.None;
        using EmulatedI2cDevice probe = Device(chip);
        Assert.Equal(Ina219Emulator.ConfigReset, ReadRegister(probe, 0x00));
        Assert.Equal(0, ReadRegister(probe, 0x05));

        using var second = new Ina219Adapter(Device(chip), Plain);
        second.Read(values);
        Assert.Equal(12.2, values[0], 0.002);
        Assert.Equal(0.3, values[1], 0.0002);
    }

    [Fact]
    public void Channels_follow_the_configured_maximum_current()
    {
        IReadOnlyList<ChannelSpec> channels = SensorCatalog.Get("ina219").ChannelsFor(Options("ina219", ("MaxCurrent", "2")));

        Assert.Equal(["voltage", "current", "power"], channels.Select(c => c.Quantity));
        Assert.Equal(["V", "A", "W"], channels.Select(c => c.Unit));
        Assert.Equal((-2.0, 2.0), (channels[1].RangeMin, channels[1].RangeMax));
    }

    [Theory]
    [InlineData("ShuntResistance", "0", "Node:Sensors:0:ShuntResistance: 0 must be a positive number of ohms")]
    [InlineData("MaxCurrent", "-1", "Node:Sensors:0:MaxCurrent: -1 must be a positive number of amperes")]
    [InlineData("MaxCurrent", "5", "Node:Sensors:0:MaxCurrent: 5 A through 0.1 Ω drops 500 mV, beyond the INA219's ±320 mV shunt range")]
    public void Invalid_settings_name_their_key(string key, string value, string expected)
    {
        Assert.Contains(Errors("ina219", (key, value)), e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void All_sixteen_strap_addresses_are_accepted()
    {
        Assert.Empty(Errors("ina219"));
        Assert.Empty(Errors("ina219", ("Address", "0x4F"), ("ShuntResistance", "0.01"), ("MaxCurrent", "10")));
        Assert.Contains(Errors("ina219", ("Address", "0x50")), e => e.StartsWith("Node:Sensors:0:Address: a ina219 answers only at 0x40", StringComparison.Ordinal));
    }
}
