using System.Diagnostics;
using Iot.Device.Bh1750fvi;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Node.Sensors;
using SensorKit.Node.Sensors.Bh1750;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Bh1750;
using static SensorKit.Tests.Sensors.SensorConfig;

namespace SensorKit.Tests.Sensors;

/// <summary>The BH1750 emulator under the real Iot.Device.Bindings driver, and the adapter's wait for a fresh result.</summary>
public sealed class Bh1750EmulatorTests
{
    /// <summary>
    /// ROHM BH1750FVI datasheet, "Measurement sequence example from 'Write instruction' to 'Read measurement result'":
    /// High byte 1000_0011, low byte 1001_0000 → (2^15 + 2^9 + 2^8 + 2^7 + 2^4) / 1.2 ≈ 28067 lx (H-resolution mode, MTreg 69).
    /// </summary>
    [Fact]
    public void Datasheet_measurement_example_decodes_through_the_real_binding()
    {
        var time = new FakeTimeProvider();
        var chip = new Bh1750Emulator(time: time);
        using var bh = new Bh1750fvi(Device(chip), MeasuringMode.ContinuouslyHighResolutionMode);
        chip.SetRaw(0b1000_0011_1001_0000);

        double lux = bh.Illuminance.Lux;

        Assert.Equal(28067, lux, 0.5);
        Assert.Equal(69, chip.Mtreg);
    }

    [Fact]
    public void The_binding_alone_returns_the_previous_result_the_chip_needs_120_ms()
    {
        var time = new FakeTimeProvider();
        var chip = new Bh1750Emulator(time: time);
        chip.Set("illuminance", 500);
        using var bh = new Bh1750fvi(Device(chip), MeasuringMode.OneTimeHighResolutionMode);

        // The binding writes the command and reads at once: the data register still holds its reset value.
        Assert.Equal(0, bh.Illuminance.Lux);
        time.Advance(TimeSpan.FromMilliseconds(119));
        Assert.Equal(0, chip.Measurements);

        time.Advance(TimeSpan.FromMilliseconds(1));
        chip.Set("illuminance", 800);
        // The next call returns the measurement completed in the meantime (and starts another one).
        Assert.Equal(800, bh.Illuminance.Lux, 1);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(123.4)]
    [InlineData(10_000.0)]
    [InlineData(54_000.0)]
    public void Illuminance_round_trips_within_the_one_lux_resolution(double lux)
    {
        var time = new FakeTimeProvider();
        var chip = new Bh1750Emulator(time: time);
        chip.Set("illuminance", lux);
        using var bh = new Bh1750fvi(Device(chip), MeasuringMode.OneTimeHighResolutionMode);
        _ = bh.Illuminance;
        time.Advance(Bh1750Emulator.HighResolutionTime);

        Assert.Equal(lux, bh.Illuminance.Lux, 1.0 / 1.2);
    }

    [Fact]
    public void The_adapter_waits_for_the_measurement_it_started()
    {
        var chip = new Bh1750Emulator();
        chip.Set("illuminance", 500);
        using var adapter = new Bh1750Adapter(Device(chip));
        var values = new double[1];
        long start = Stopwatch.GetTimestamp();

        adapter.Read(values);
        Assert.Equal(500, values[0], 1);

        chip.Set("illuminance", 20_000);
        adapter.Read(values);

        Assert.Equal(20_000, values[0], 1);
        Assert.True(Stopwatch.GetElapsedTime(start) >= 2 * Bh1750Adapter.MaxMeasurementTime);
    }

    [Fact]
    public void A_saturated_sensor_is_a_read_error_not_a_value()
    {
        var chip = new Bh1750Emulator { Faults = ChipFault.OutOfRange };
        using var adapter = new Bh1750Adapter(Device(chip));

        SensorReadException e = Assert.Throws<SensorReadException>(() => adapter.Read(new double[1]));
        Assert.Contains("saturated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_nacking_chip_throws_IOException_from_the_binding()
    {
        var chip = new Bh1750Emulator { Faults = ChipFault.Nack };

        Assert.Throws<IOException>(() => new Bh1750Adapter(Device(chip)));
    }

    [Fact]
    public void A_stuck_chip_keeps_its_last_result()
    {
        var time = new FakeTimeProvider();
        var chip = new Bh1750Emulator(time: time);
        chip.Set("illuminance", 300);
        using var bh = new Bh1750fvi(Device(chip), MeasuringMode.OneTimeHighResolutionMode);
        _ = bh.Illuminance;
        time.Advance(Bh1750Emulator.HighResolutionTime);
        Assert.Equal(300, bh.Illuminance.Lux, 1);

        chip.Faults = ChipFault.Stuck;
        chip.Set("illuminance", 900);
        time.Advance(Bh1750Emulator.HighResolutionTime);

        Assert.Equal(300, bh.Illuminance.Lux, 1);
    }

    [Fact]
    public void A_slow_chip_times_out_with_IOException()
    {
        var chip = new Bh1750Emulator();
        using var adapter = new Bh1750Adapter(Device(chip));
        chip.Faults = ChipFault.Slow;

        Assert.Throws<IOException>(() => adapter.Read(new double[1]));
    }

    [Fact]
    public void Unplugged_chip_comes_back_reset_and_a_new_driver_reads_it()
    {
        var time = new FakeTimeProvider();
        var chip = new Bh1750Emulator(time: time);
        chip.Set("illuminance", 640);
        using (var bh = new Bh1750fvi(Device(chip), MeasuringMode.OneTimeHighResolutionMode, lightTransmittance: 0.5))
        {
            Assert.Equal(138, chip.Mtreg);
            _ = bh.Illuminance;
            chip.Faults = ChipFault.Absent;
            Assert.Throws<IOException>(() => bh.Illuminance);
        }

        chip.Faults = ChipFault.None;
        using EmulatedI2cDevice probe = Device(chip);
        Span<byte> data = stackalloc byte[2];
        probe.Read(data);
        // Power-on state: data register 0, MTreg 69.
        Assert.Equal(0, data[0] | data[1]);
        Assert.Equal(69, chip.Mtreg);

        using var again = new Bh1750fvi(Device(chip), MeasuringMode.OneTimeHighResolutionMode);
        _ = again.Illuminance;
        time.Advance(Bh1750Emulator.HighResolutionTime);
        Assert.Equal(640, again.Illuminance.Lux, 1);
    }

    [Fact]
    public void Both_strap_addresses_are_accepted()
    {
        Assert.Empty(Errors("bh1750", ("Address", "0x5C")));
        Assert.Contains("Node:Sensors:0:Address: a bh1750 answers only at 0x23 or 0x5c, not 0x24", Errors("bh1750", ("Address", "0x24")));
        Assert.Equal(["illuminance"], SensorCatalog.Get("bh1750").ChannelsFor(Options("bh1750")).Select(c => c.Quantity));
    }
}
