using System.Diagnostics;
using Iot.Device.Ads1115;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;
using SensorKit.Node.Sensors.Ads1115;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Ads1115;
using static SensorKit.Tests.Sensors.SensorConfig;

namespace SensorKit.Tests.Sensors;

/// <summary>The ADS1115 emulator under the real Iot.Device.Bindings driver, and the adapter's scaling and validation.</summary>
public sealed class Ads1115EmulatorTests
{
    private static readonly SensorOptions Plain = Options("ads1115");

    /// <summary>
    /// TI ADS1115 datasheet SBAS444, "Data Format", Table 3 (input signal versus ideal output code), at the
    /// ±4.096 V range (1 LSB = 125 µV): +FS·(2^15−1)/2^15 → 7FFFh, +FS/2^15 → 0001h, 0 → 0000h,
    /// −FS/2^15 → FFFFh, −FS → 8000h; measured differentially (AIN0−AIN1) so negative inputs exist.
    /// </summary>
    [Theory]
    [InlineData(4.096 * 32767 / 32768, 0x7FFF)]
    [InlineData(4.096 / 32768, 0x0001)]
    [InlineData(0.0, 0x0000)]
    [InlineData(-4.096 / 32768, 0xFFFF)]
    [InlineData(-4.096, 0x8000)]
    public void Datasheet_output_codes_come_through_the_real_binding(double volts, int expectedCode)
    {
        var chip = new Ads1115Emulator();
        chip.Set("voltage", volts);
        using var adc = new Ads1115(Device(chip), InputMultiplexer.AIN0_AIN1, MeasuringRange.FS4096, DataRate.SPS128, DeviceMode.PowerDown);

        short code = adc.ReadRaw();

        Assert.Equal((ushort)expectedCode, (ushort)code);
        Assert.Equal(volts, adc.RawToVoltage(code).Volts, 1e-9);
    }

    [Theory]
    [InlineData(6.144, 0.0)]
    [InlineData(6.144, 2.9)]
    [InlineData(4.096, 0.5)]
    [InlineData(4.096, 3.3)]
    [InlineData(2.048, 1.234567)]
    [InlineData(1.024, 0.75)]
    [InlineData(0.512, 0.1)]
    [InlineData(0.256, 0.25)]
    public void Voltages_round_trip_through_the_adapter_within_half_an_LSB(double fullScale, double volts)
    {
        var chip = new Ads1115Emulator();
        chip.Set("voltage", volts);
        using var adapter = new Ads1115Adapter(Device(chip), Options("ads1115", ("FullScale", fullScale.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        Span<double> values = stackalloc double[1];

        adapter.Read(values);

        Assert.Equal(volts, values[0], fullScale / 32768 / 2 + 1e-12);
        Assert.Equal(fullScale, chip.LastFullScale);
    }

    [Fact]
    public void The_configured_input_and_range_reach_the_chip()
    {
        var chip = new Ads1115Emulator();
        using var adapter = new Ads1115Adapter(Device(chip), Options("ads1115", ("Input", "ain2"), ("FullScale", "2.048")));
        Span<double> values = stackalloc double[1];

        adapter.Read(values);

        // MUX[2:0] = 110: AIN2 against GND (datasheet, Config register).
        Assert.Equal(0b110, chip.LastMux);
        Assert.Equal(2.048, chip.LastFullScale);
    }

    [Fact]
    public void Every_read_is_a_new_conversion_finished_after_the_call()
    {
        var chip = new Ads1115Emulator { BusyPolls = 5 };
        chip.Set("voltage", 1.0);
        using var adapter = new Ads1115Adapter(Device(chip), Plain);
        Span<double> values = stackalloc double[1];
        adapter.Read(values);
        int before = chip.Conversions;

        chip.Set("voltage", 2.0);
        adapter.Read(values);

        Assert.Equal(before + 1, chip.Conversions);
        Assert.Equal(2.0, values[0], 125e-6);
    }

    [Fact]
    public void Reading_the_conversion_register_before_the_conversion_ends_gives_the_old_result()
    {
        var chip = new Ads1115Emulator { BusyPolls = 3 };
        chip.Set("voltage", 1.0);
        using EmulatedI2cDevice device = Device(chip);
        using var adc = new Ads1115(device, InputMultiplexer.AIN0, MeasuringRange.FS4096, DataRate.SPS128, DeviceMode.PowerDown);
        short first = adc.ReadRaw();

        // Start a single-shot conversion by hand (OS = 1, MODE = 1) and read without polling OS.
        chip.Set("voltage", 3.0);
        device.Write([0x01, 0xC3, 0x83]);
        device.Write([0x00]);
        Span<byte> raw = stackalloc byte[2];
        device.Read(raw);

        Assert.Equal(first, (short)((raw[0] << 8) | raw[1]));
        Assert.Equal(1.0, adc.RawToVoltage(first).Volts, 125e-6);
    }

    [Fact]
    public void An_input_beyond_full_scale_is_a_read_error_not_a_value()
    {
        var chip = new Ads1115Emulator { Faults = ChipFault.OutOfRange };
        using var adapter = new Ads1115Adapter(Device(chip), Plain);
        var values = new double[1];

        SensorReadException e = Assert.Throws<SensorReadException>(() => adapter.Read(values));

        Assert.Contains("0x7FFF", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_nacking_chip_throws_IOException_from_the_binding()
    {
        var chip = new Ads1115Emulator { Faults = ChipFault.Nack };

        Assert.Throws<IOException>(() => new Ads1115Adapter(Device(chip), Plain));
    }

    [Fact]
    public void A_stuck_chip_keeps_its_last_conversion()
    {
        var chip = new Ads1115Emulator();
        chip.Set("voltage", 1.0);
        using var adapter = new Ads1115Adapter(Device(chip), Plain);
        var values = new double[1];
        adapter.Read(values);

        chip.Faults = ChipFault.Stuck;
        chip.Set("voltage", 2.0);
        adapter.Read(values);

        Assert.Equal(1.0, values[0], 125e-6);
    }

    [Fact]
    public void A_slow_chip_times_out_with_IOException()
    {
        var chip = new Ads1115Emulator();
        using var adapter = new Ads1115Adapter(Device(chip), Plain);
        chip.Faults = ChipFault.Slow;
        var values = new double[1];
        long start = Stopwatch.GetTimestamp();

        Assert.Throws<IOException>(() => adapter.Read(values));

        Assert.True(Stopwatch.GetElapsedTime(start) >= chip.SlowTransfer, "a slow transfer fails only after the timeout");
    }

    [Fact]
    public void Unplugged_chip_comes_back_reset_and_a_new_adapter_reads_it()
    {
        var chip = new Ads1115Emulator();
        chip.Set("voltage", 0.8);
        var values = new double[1];
        using (var first = new Ads1115Adapter(Device(chip), Options("ads1115", ("FullScale", "1.024"))))
        {
            first.Read(values);
            chip.Faults = ChipFault.Absent;
            Assert.Throws<IOException>(() => first.Read(values));
        }

        chip.Faults = ChipFault.None;
        using EmulatedI2cDevice probe = Device(chip);
        probe.Write([0x01]);
        Span<byte> config = stackalloc byte[2];
        probe.Read(config);
        Assert.Equal(Ads1115Emulator.ConfigReset, (ushort)((config[0] << 8) | config[1]));

        using var second = new Ads1115Adapter(Device(chip), Options("ads1115", ("FullScale", "1.024")));
        second.Read(values);
        Assert.Equal(0.8, values[0], 32e-6);
    }

    [Theory]
    [InlineData(0.5, 0.0)]
    [InlineData(2.5, 2.5)]
    [InlineData(4.5, 5.0)]
    [InlineData(0.4, -0.125)]
    public void A_linear_scale_maps_volts_to_the_physical_value(double volts, double metres)
    {
        var scale = new ScaleOptions { FromVolts = 0.5, ToVolts = 4.5, FromValue = 0, ToValue = 5, Quantity = "water-level", Unit = "m" };

        Assert.Equal(metres, scale.Apply(volts), 1e-12);
    }

    [Fact]
    public void A_scaled_sensor_publishes_voltage_and_the_scaled_quantity()
    {
        // A 0.5-4.5 V level transducer (0-5 m) behind a 10 kΩ / 20 kΩ divider: 0.333-3.0 V at the ADC.
        SensorOptions options = Options(
            "ads1115",
            ("FullScale", "4.096"),
            ("Scale:FromVolts", "0.3333333"),
            ("Scale:ToVolts", "3.0"),
            ("Scale:FromValue", "0"),
            ("Scale:ToValue", "5"),
            ("Scale:Quantity", "water-level"),
            ("Scale:Unit", "m"));
        var chip = new Ads1115Emulator();
        chip.Set("voltage", (0.5 + (1.2 * 0.8)) * 2 / 3);
        using var adapter = new Ads1115Adapter(Device(chip), options);
        var values = new double[2];

        adapter.Read(values);

        IReadOnlyList<ChannelSpec> channels = Node.Sensors.SensorCatalog.Get("ads1115").ChannelsFor(options);
        Assert.Equal(["voltage", "water-level"], channels.Select(c => c.Quantity));
        Assert.Equal(["V", "m"], channels.Select(c => c.Unit));
        Assert.Equal((0, 5), (channels[1].RangeMin, channels[1].RangeMax));
        Assert.Equal(0.9733, values[0], 1e-3);
        Assert.Equal(1.2, values[1], 1e-3);
        Assert.Empty(Errors("ads1115", ("Scale:FromVolts", "0.3333333"), ("Scale:ToVolts", "3.0"), ("Scale:FromValue", "0"), ("Scale:ToValue", "5"), ("Scale:Quantity", "water-level"), ("Scale:Unit", "m")));
    }

    [Fact]
    public void Without_a_scale_only_the_voltage_is_published()
    {
        Assert.Equal(["voltage"], Node.Sensors.SensorCatalog.Get("ads1115").ChannelsFor(Plain).Select(c => c.Quantity));
    }

    [Theory]
    [InlineData("Input", "AIN5", "Node:Sensors:0:Input: 'AIN5' is not one of AIN0, AIN1, AIN2, AIN3, AIN0-AIN1")]
    [InlineData("FullScale", "5", "Node:Sensors:0:FullScale: 5 V is not one of 6.144, 4.096, 2.048, 1.024, 0.512, 0.256")]
    [InlineData("Scale:ToVolts", "4.5", "Node:Sensors:0:Scale:ToVolts: 4.5 V is outside the measurable 0…4.096 V (set Node:Sensors:0:FullScale")]
    [InlineData("Scale:ToVolts", "0.5", "Node:Sensors:0:Scale:ToVolts: 0.5 V must differ from FromVolts")]
    [InlineData("Scale:FromVolts", "-0.5", "Node:Sensors:0:Scale:FromVolts: -0.5 V is outside the measurable 0…4.096 V")]
    [InlineData("Scale:ToValue", "0", "Node:Sensors:0:Scale:ToValue: 0 must differ from FromValue")]
    [InlineData("Scale:Quantity", "water level", "Node:Sensors:0:Scale:Quantity: 'water level' must be 1-64 characters")]
    [InlineData("Scale:Quantity", "voltage", "Node:Sensors:0:Scale:Quantity: 'voltage' is the raw channel")]
    [InlineData("Scale:Unit", "", "Node:Sensors:0:Scale:Unit: '' must be a SenML unit symbol")]
    public void Invalid_settings_name_their_key(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string>
        {
            ["Scale:FromVolts"] = "0.5",
            ["Scale:ToVolts"] = "3.5",
            ["Scale:FromValue"] = "0",
            ["Scale:ToValue"] = "5",
            ["Scale:Quantity"] = "water-level",
            ["Scale:Unit"] = "m",
            [key] = value,
        };

        IReadOnlyList<string> errors = Errors("ads1115", [.. settings.Select(kv => (kv.Key, kv.Value))]);

        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_scale_with_a_missing_field_names_it()
    {
        IReadOnlyList<string> errors = Errors("ads1115", ("Scale:FromVolts", "0.5"), ("Scale:FromValue", "0"), ("Scale:ToValue", "5"), ("Scale:Quantity", "water-level"), ("Scale:Unit", "m"));

        Assert.Equal(["Node:Sensors:0:Scale:ToVolts: is missing"], errors);
    }

    [Fact]
    public void A_differential_input_may_scale_negative_volts()
    {
        Assert.Empty(Errors("ads1115", ("Input", "AIN0-AIN1"), ("Scale:FromVolts", "-1"), ("Scale:ToVolts", "1"), ("Scale:FromValue", "-10"), ("Scale:ToValue", "10"), ("Scale:Quantity", "flow"), ("Scale:Unit", "m3/s")));
    }

    [Fact]
    public void Only_ADDR_strap_addresses_are_accepted()
    {
        Assert.Empty(Errors("ads1115", ("Address", "0x4B")));
        Assert.Contains("Node:Sensors:0:Address: a ads1115 answers only at 0x48 or 0x49 or 0x4a or 0x4b, not 0x4c", Errors("ads1115", ("Address", "0x4C")));
    }
}
