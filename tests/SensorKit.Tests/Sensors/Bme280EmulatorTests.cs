using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.ReadResult;
using SensorKit.Node.Sensors.Bme280;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Bme280;
using UnitsNet;

namespace SensorKit.Tests.Sensors;

/// <summary>The BME280 emulator under the real Iot.Device.Bindings driver.</summary>
public sealed class Bme280EmulatorTests
{
    private static EmulatedI2cDevice Device(Bme280Emulator chip) => new(chip, new I2cConnectionSettings(1, chip.Address));

    /// <summary>
    /// Bosch BMP280 datasheet BST-BMP280-DS001, §3.12 "Calculating pressure and temperature", worked example
    /// (the BME280 datasheet BST-BME280-DS002 §4.2.3 uses the same formulas): with the example trimming values,
    /// adc_T = 519888 gives 25.08 °C and adc_P = 415148 gives 100653.27 Pa.
    /// </summary>
    [Fact]
    public void Datasheet_worked_example_decodes_through_the_real_binding()
    {
        var chip = new Bme280Emulator();
        using var bme = new Bme280(Device(chip));
        chip.SetRaw(519888, 415148, 0x8000);

        Assert.True(bme.TryReadTemperature(out Temperature t));
        Assert.True(bme.TryReadPressure(out Pressure p));

        Assert.Equal(25.08, t.DegreesCelsius, 2);
        Assert.Equal(100653.27, p.Pascals, 2);
    }

    [Theory]
    [InlineData(-40.0, 10.0, 30_000.0)]
    [InlineData(-10.5, 35.0, 80_000.0)]
    [InlineData(0.0, 50.0, 95_000.0)]
    [InlineData(25.08, 60.0, 100_653.27)]
    [InlineData(31.5, 80.0, 101_325.0)]
    [InlineData(39.0, 95.0, 103_000.0)]
    [InlineData(85.0, 100.0, 110_000.0)]
    public void Physical_values_round_trip_through_the_real_binding_within_resolution(double celsius, double humidity, double pascals)
    {
        var chip = new Bme280Emulator();
        chip.Set("temperature", celsius);
        chip.Set("humidity", humidity);
        chip.Set("pressure", pascals);
        using var bme = new Bme280(Device(chip));

        Bme280ReadResult r = bme.Read();

        // Resolution at ×1 oversampling: 0.005 °C (§3.4.3: 16-bit ... 20-bit; the driver reads 20 bits),
        // 0.18 Pa per LSB at 20 bit, humidity 0.008 %RH per LSB.
        Assert.Equal(celsius, r.Temperature!.Value.DegreesCelsius, 0.01);
        Assert.Equal(pascals, r.Pressure!.Value.Pascals, 1.0);
        Assert.Equal(humidity, r.Humidity!.Value.Percent, 0.05);
    }

    [Fact]
    public void TryRead_without_a_measurement_decodes_stale_reset_values_but_the_adapter_measures()
    {
        var chip = new Bme280Emulator();
        chip.Set("temperature", 31.5);
        using var bme = new Bme280(Device(chip));

        // The binding's trap: nothing was measured, so the data registers hold their reset value 0x80000.
        Assert.True(bme.TryReadTemperature(out Temperature stale));
        Assert.NotEqual(31.5, stale.DegreesCelsius, 0.5);
        Assert.Equal(0, chip.Measurements);

        using var adapter = new Bme280Adapter(Device(chip));
        Span<double> values = stackalloc double[3];
        adapter.Read(values);

        Assert.Equal(31.5, values[0], 0.01);
        Assert.Equal(1, chip.Measurements);
    }

    [Fact]
    public void A_nacking_chip_throws_IOException_from_the_binding()
    {
        var chip = new Bme280Emulator { Faults = ChipFault.Nack };

        Assert.Throws<IOException>(() => new Bme280Adapter(Device(chip)));
    }

    [Fact]
    public void A_stuck_chip_keeps_its_last_values()
    {
        var chip = new Bme280Emulator();
        chip.Set("temperature", 20.0);
        using var adapter = new Bme280Adapter(Device(chip));
        Span<double> values = stackalloc double[3];
        adapter.Read(values);

        chip.Faults = ChipFault.Stuck;
        chip.Set("temperature", 30.0);
        adapter.Read(values);

        Assert.Equal(20.0, values[0], 0.01);
    }

    [Fact]
    public void Unplugged_chip_comes_back_reset_and_a_new_adapter_reads_it()
    {
        var chip = new Bme280Emulator();
        chip.Set("temperature", 22.0);
        using (var first = new Bme280Adapter(Device(chip)))
        {
            chip.Faults = ChipFault.Absent;
            Span<double> values = stackalloc double[3];
            try
            {
                first.Read(values);
                Assert.Fail("an absent chip must not answer");
            }
            catch (IOException)
            {
                // Expected: what a missing device gives.
            }
        }

        chip.Faults = ChipFault.None;
        using var second = new Bme280Adapter(Device(chip));
        Span<double> again = stackalloc double[3];
        second.Read(again);

        Assert.Equal(22.0, again[0], 0.01);
    }
}
