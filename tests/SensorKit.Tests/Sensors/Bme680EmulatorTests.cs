using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.ReadResult;
using SensorKit.Node.Sensors;
using SensorKit.Node.Sensors.Bme680;
using SensorKit.Protocol;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Bme680;
using UnitsNet;

namespace SensorKit.Tests.Sensors;

/// <summary>The BME680 emulator under the real Iot.Device.Bindings driver, and the adapter's freshness checks.</summary>
public sealed class Bme680EmulatorTests
{
    private static EmulatedI2cDevice Device(Bme680Emulator chip) => new(chip, new I2cConnectionSettings(1, chip.Address));

    /// <summary>
    /// The BME680 datasheet (BST-BME680-DS001) gives no worked example, so this is a reference
    /// computation: the trimming values of <see cref="Bme680Calibration.Production"/> and the raw
    /// readings below, put through Bosch's floating-point compensation (BME68x Sensor API:
    /// calc_temperature, calc_pressure, calc_humidity, calc_gas_resistance_low; datasheet §3.3,
    /// §3.4.1) in double precision, separately from this code base, give
    /// adc_T 480000 → 19.207612 °C (t_fine 98342.97), adc_P 320000 → 101358.1834 Pa,
    /// adc_H 22000 → 47.023010 %RH, gas_adc 700 at gas_range 6 → 109620.4188 Ω.
    /// </summary>
    [Fact]
    public void Reference_computation_decodes_through_the_real_binding()
    {
        var chip = new Bme680Emulator();
        using var bme = new Iot.Device.Bmxx80.Bme680(Device(chip));
        chip.SetRaw(480000, 320000, 22000, 700, 6);

        Assert.True(bme.TryReadTemperature(out Temperature t));
        Assert.True(bme.TryReadPressure(out Pressure p));
        Assert.True(bme.TryReadHumidity(out RelativeHumidity h));
        Assert.True(bme.TryReadGasResistance(out ElectricResistance r));

        Assert.Equal(19.207612, t.DegreesCelsius, 5);
        Assert.Equal(101358.1834, p.Pascals, 3);
        Assert.Equal(47.023010, h.Percent, 5);
        Assert.Equal(109620.4188, r.Ohms, 3);
    }

    [Fact]
    public void Default_address_is_0x76_in_the_catalog_and_the_binding()
    {
        Assert.Equal(0x76, SensorCatalog.Get("bme680").DefaultAddress);
        Assert.Equal(0x76, Iot.Device.Bmxx80.Bme680.DefaultI2cAddress);
        Assert.Equal(
            [Quantities.Temperature, Quantities.Humidity, Quantities.Pressure, Quantities.GasResistance],
            SensorCatalog.Get("bme680").Channels.Select(c => c.Quantity));
    }

    [Theory]
    [InlineData(-40.0, 0.0, 30_000.0, 200.0)]
    [InlineData(-12.5, 20.0, 70_000.0, 2_000.0)]
    [InlineData(0.0, 45.0, 90_000.0, 15_000.0)]
    [InlineData(19.2, 55.5, 101_325.0, 120_000.0)]
    [InlineData(33.3, 80.0, 103_000.0, 450_000.0)]
    [InlineData(60.0, 95.0, 105_000.0, 2_500_000.0)]
    [InlineData(85.0, 100.0, 110_000.0, 12_000_000.0)]
    public void Physical_values_round_trip_through_the_adapter_within_resolution(double celsius, double humidity, double pascals, double ohms)
    {
        var chip = new Bme680Emulator();
        chip.Set("temperature", celsius);
        chip.Set("humidity", humidity);
        chip.Set("pressure", pascals);
        chip.Set("gas-resistance", ohms);
        using var adapter = new Bme680Adapter(Device(chip));
        Span<double> values = stackalloc double[4];
        int before = chip.Measurements;

        adapter.Read(values);

        // ×1 oversampling resolves 16 bits: 0.005 °C and about 2.9 Pa per step; humidity 0.004 %RH;
        // the 10-bit gas code about 0.11 % of the value per step at worst.
        Assert.Equal(celsius, values[0], 0.005);
        Assert.Equal(humidity, values[1], 0.01);
        Assert.Equal(pascals, values[2], 2.0);
        Assert.Equal(ohms, values[3], ohms * 0.001);
        Assert.Equal(before + 1, chip.Measurements);
    }

    [Fact]
    public void The_binding_alone_returns_the_previous_cycle_when_the_chip_is_late()
    {
        var chip = new Bme680Emulator();
        chip.Set("temperature", 20.0);
        using var bme = new Iot.Device.Bmxx80.Bme680(Device(chip));
        Assert.Equal(20.0, bme.Read().Temperature!.Value.DegreesCelsius, 0.005);

        chip.Set("temperature", 30.0);
        chip.MeasurementTime = TimeSpan.FromSeconds(10);
        Bme680ReadResult late = bme.Read();

        // The trap: the binding slept its 162 ms and decoded the registers of the previous cycle.
        Assert.Equal(20.0, late.Temperature!.Value.DegreesCelsius, 0.005);
    }

    [Fact]
    public void The_adapter_refuses_registers_of_an_unfinished_cycle_and_recovers()
    {
        var chip = new Bme680Emulator();
        chip.Set("temperature", 20.0);
        using var adapter = new Bme680Adapter(Device(chip));
        Span<double> values = stackalloc double[4];
        adapter.Read(values);
        Assert.Equal(20.0, values[0], 0.005);

        chip.Set("temperature", 30.0);
        chip.MeasurementTime = TimeSpan.FromSeconds(10);
        var error = Assert.Throws<SensorReadException>(() => adapter.Read(new double[4]));
        Assert.Contains("still measuring", error.Message, StringComparison.Ordinal);

        // The next read resets the chip (which ends the stuck cycle) and measures again.
        chip.MeasurementTime = TimeSpan.Zero;
        adapter.Read(values);
        Assert.Equal(30.0, values[0], 0.005);
    }

    [Fact]
    public void A_gas_reading_without_a_stable_heater_is_refused()
    {
        var chip = new Bme680Emulator();
        using var adapter = new Bme680Adapter(Device(chip));
        using var device = Device(chip);

        // heat_off (ctrl_gas_0 bit 3): the hot plate never reaches 320 °C, heat_stab_r stays clear.
        device.Write([0x70, 0x08]);
        var error = Assert.Throws<SensorReadException>(() => adapter.Read(new double[4]));
        Assert.Contains("heat_stab_r", error.Message, StringComparison.Ordinal);

        // The adapter re-applies its configuration after a failure, which switches the heater back on.
        Span<double> values = stackalloc double[4];
        adapter.Read(values);
        Assert.Equal(120_000.0, values[3], 120.0);
    }

    [Fact]
    public void A_nacking_chip_throws_IOException_from_the_binding()
    {
        var chip = new Bme680Emulator { Faults = ChipFault.Nack };

        Assert.Throws<IOException>(() => new Bme680Adapter(Device(chip)));
    }

    [Fact]
    public void Unplugged_chip_comes_back_reset_and_the_same_adapter_configures_it_again()
    {
        var chip = new Bme680Emulator();
        chip.Set("temperature", 22.0);
        chip.Set("gas-resistance", 80_000.0);
        using var adapter = new Bme680Adapter(Device(chip));
        using var device = Device(chip);

        chip.Faults = ChipFault.Absent;
        Assert.Throws<IOException>(() => adapter.Read(new double[4]));
        chip.Faults = ChipFault.None;

        // Back with power-on defaults: gas conversion off, every measurement skipped.
        device.WriteByte(0x71);
        Assert.Equal(0, device.ReadByte());
        device.WriteByte(0x74);
        Assert.Equal(0, device.ReadByte());

        Span<double> values = stackalloc double[4];
        adapter.Read(values);
        Assert.Equal(22.0, values[0], 0.005);
        Assert.Equal(80_000.0, values[3], 80.0);
    }

    [Fact]
    public void A_stuck_chip_keeps_reporting_its_last_values()
    {
        var chip = new Bme680Emulator();
        chip.Set("gas-resistance", 150_000.0);
        using var adapter = new Bme680Adapter(Device(chip));
        Span<double> values = stackalloc double[4];
        adapter.Read(values);

        chip.Faults = ChipFault.Stuck;
        chip.Set("gas-resistance", 20_000.0);
        adapter.Read(values);

        Assert.Equal(150_000.0, values[3], 150.0);
    }

    [Fact]
    public void Out_of_range_reports_150_degrees_beyond_the_measuring_range()
    {
        var chip = new Bme680Emulator { Faults = ChipFault.OutOfRange };
        using var adapter = new Bme680Adapter(Device(chip));
        Span<double> values = stackalloc double[4];

        adapter.Read(values);

        Assert.Equal(150.0, values[0], 0.005);
        Assert.True(values[0] > SensorCatalog.Get("bme680").Channels[0].RangeMax);
    }

    [Fact]
    public void A_slow_chip_times_out_with_IOException()
    {
        var chip = new Bme680Emulator { Faults = ChipFault.Slow, SlowTransfer = TimeSpan.FromMilliseconds(5) };

        Assert.Throws<IOException>(() => new Bme680Adapter(Device(chip)));
    }
}
