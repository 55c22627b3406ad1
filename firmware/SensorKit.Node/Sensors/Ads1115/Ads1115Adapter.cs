using System.Device.I2c;
using System.Globalization;
using Iot.Device.Ads1115;
using SensorKit.Node.Configuration;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Ads1115;

/// <summary>
/// Reads one input of an ADS1115 through <see cref="Iot.Device.Ads1115.Ads1115"/> in single-shot
/// (power-down) mode: <c>ReadRaw()</c> then writes the configuration with OS = 1, which starts one
/// conversion, and polls OS until it reads 1 again (datasheet SBAS444, "Single-Shot Mode" and the
/// Config register's OS bit), so every
/// value was converted after the call. In continuous mode the binding would return whatever the
/// conversion register holds. A conversion that never finishes makes the binding throw
/// <see cref="TimeoutException"/>; a code of 7FFFh or 8000h means the input is at or beyond full
/// scale ("Data Format", Table 3), so the real voltage is unknown. Both are read errors, never values.
/// </summary>
public sealed class Ads1115Adapter : ISensorAdapter
{
    public const double DefaultFullScale = 4.096;

    // Programmable gain amplifier settings and their full-scale ranges (datasheet, "Full-Scale Range (FSR) and LSB Size").
    private static readonly (double Volts, MeasuringRange Range)[] FullScales =
    [
        (6.144, MeasuringRange.FS6144),
        (4.096, MeasuringRange.FS4096),
        (2.048, MeasuringRange.FS2048),
        (1.024, MeasuringRange.FS1024),
        (0.512, MeasuringRange.FS0512),
        (0.256, MeasuringRange.FS0256),
    ];

    // Multiplexer settings (Config register MUX[2:0]), named after the datasheet's pins.
    private static readonly (string Name, InputMultiplexer Mux)[] Inputs =
    [
        ("AIN0", InputMultiplexer.AIN0),
        ("AIN1", InputMultiplexer.AIN1),
        ("AIN2", InputMultiplexer.AIN2),
        ("AIN3", InputMultiplexer.AIN3),
        ("AIN0-AIN1", InputMultiplexer.AIN0_AIN1),
        ("AIN0-AIN3", InputMultiplexer.AIN0_AIN3),
        ("AIN1-AIN3", InputMultiplexer.AIN1_AIN3),
        ("AIN2-AIN3", InputMultiplexer.AIN2_AIN3),
    ];

    private readonly I2cDevice _device;
    private readonly Iot.Device.Ads1115.Ads1115 _adc;
    private readonly ScaleOptions? _scale;
    private readonly double _fullScale;

    public Ads1115Adapter(I2cDevice device, SensorOptions options)
    {
        _device = device;
        _scale = options.Scale;
        _fullScale = options.FullScale ?? DefaultFullScale;
        InputMultiplexer input = ParseInput(options.Input) ?? throw new ArgumentException($"unknown ADS1115 input '{options.Input}'", nameof(options));
        MeasuringRange range = RangeFor(_fullScale) ?? throw new ArgumentException($"unsupported ADS1115 full scale {_fullScale} V", nameof(options));

        try
        {
            // 128 SPS, the chip's default: a conversion takes 1/128 s = 7.8 ms ("Output Data Rate and Conversion Time").
            _adc = new Iot.Device.Ads1115.Ads1115(device, input, range, DataRate.SPS128, DeviceMode.PowerDown);
        }
        catch
        {
            // The sampler opens a new device on every retry; this one must not leak a bus handle.
            device.Dispose();
            throw;
        }
    }

    public void Read(Span<double> values)
    {
        short code;
        try
        {
            code = _adc.ReadRaw();
        }
        catch (TimeoutException e)
        {
            throw new SensorReadException("ADS1115 conversion did not finish; the conversion register would hold an old value", e);
        }

        if (code is short.MaxValue or short.MinValue)
        {
            throw new SensorReadException(string.Create(CultureInfo.InvariantCulture, $"ADS1115 input at or beyond full scale ±{_fullScale} V (code 0x{(ushort)code:X4}); the voltage is unknown"));
        }

        double volts = _adc.RawToVoltage(code).Volts;
        values[0] = volts;
        if (_scale is not null)
        {
            values[1] = _scale.Apply(volts);
        }
    }

    /// <summary>
    /// Releases the bus device only. The binding's Dispose rewrites the comparator defaults its
    /// constructor already wrote, and on a chip that is gone it retries for 400 ms and then throws.
    /// In single-shot mode the chip has powered down after its last conversion anyway.
    /// </summary>
    public void Dispose() => _device.Dispose();

    /// <summary>The voltage channel and, with <see cref="SensorOptions.Scale"/>, the scaled one.</summary>
    public static IReadOnlyList<ChannelSpec> ChannelsFor(SensorOptions options)
    {
        double fs = options.FullScale ?? DefaultFullScale;
        var voltage = new ChannelSpec(Quantities.Voltage, Units.Volt, -fs, fs);
        if (options.Scale is not { } s)
        {
            return [voltage];
        }

        double from = s.FromValue ?? 0;
        double to = s.ToValue ?? 0;
        return [voltage, new ChannelSpec(s.Quantity ?? string.Empty, s.Unit ?? string.Empty, Math.Min(from, to), Math.Max(from, to))];
    }

    /// <summary>Checks Input, FullScale and Scale; each error names its key below <paramref name="key"/>.</summary>
    public static IEnumerable<string> Validate(SensorOptions options, string key)
    {
        var errors = new List<string>();
        InputMultiplexer? input = ParseInput(options.Input);
        if (input is null)
        {
            errors.Add($"{key}:Input: '{options.Input}' is not one of {string.Join(", ", Inputs.Select(i => i.Name))}");
        }

        double fs = options.FullScale ?? DefaultFullScale;
        if (RangeFor(fs) is null)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{key}:FullScale: {fs} V is not one of {string.Join(", ", FullScales.Select(f => f.Volts.ToString(CultureInfo.InvariantCulture)))} (volts)"));
            fs = DefaultFullScale;
        }

        if (options.Scale is { } scale)
        {
            errors.AddRange(ValidateScale(scale, $"{key}:Scale", fs, $"{key}:FullScale", singleEnded: input is null || IsSingleEnded(input.Value)));
        }

        return errors;
    }

    internal static InputMultiplexer? ParseInput(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return InputMultiplexer.AIN0;
        }

        foreach ((string n, InputMultiplexer mux) in Inputs)
        {
            if (string.Equals(n, name.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return mux;
            }
        }

        return null;
    }

    internal static MeasuringRange? RangeFor(double fullScale)
    {
        foreach ((double volts, MeasuringRange range) in FullScales)
        {
            if (Math.Abs(volts - fullScale) < 1e-9)
            {
                return range;
            }
        }

        return null;
    }

    private static bool IsSingleEnded(InputMultiplexer input) =>
        input is InputMultiplexer.AIN0 or InputMultiplexer.AIN1 or InputMultiplexer.AIN2 or InputMultiplexer.AIN3;

    private static List<string> ValidateScale(ScaleOptions s, string key, double fullScale, string fullScaleKey, bool singleEnded)
    {
        var errors = new List<string>();
        bool numbersOk = true;
        foreach ((string name, double? value) in new[] { ("FromVolts", s.FromVolts), ("ToVolts", s.ToVolts), ("FromValue", s.FromValue), ("ToValue", s.ToValue) })
        {
            if (value is null)
            {
                errors.Add($"{key}:{name}: is missing");
                numbersOk = false;
            }
            else if (!double.IsFinite(value.Value))
            {
                errors.Add($"{key}:{name}: {value} is not a finite number");
                numbersOk = false;
            }
        }

        if (numbersOk)
        {
            if (s.ToVolts == s.FromVolts)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{key}:ToVolts: {s.ToVolts} V must differ from FromVolts"));
            }

            if (s.ToValue == s.FromValue)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"{key}:ToValue: {s.ToValue} must differ from FromValue"));
            }

            double lowest = singleEnded ? 0 : -fullScale;
            foreach ((string name, double volts) in new[] { ("FromVolts", s.FromVolts!.Value), ("ToVolts", s.ToVolts!.Value) })
            {
                if (volts > fullScale || volts < lowest)
                {
                    errors.Add(string.Create(CultureInfo.InvariantCulture, $"{key}:{name}: {volts} V is outside the measurable {lowest}…{fullScale} V (set {fullScaleKey}, or divide the voltage down)"));
                }
            }
        }

        if (!Topics.IsValidLevel(s.Quantity))
        {
            errors.Add($"{key}:Quantity: '{s.Quantity}' must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_' (e.g. water-level)");
        }
        else if (s.Quantity == Quantities.Voltage)
        {
            errors.Add($"{key}:Quantity: '{Quantities.Voltage}' is the raw channel; name the scaled quantity (e.g. water-level)");
        }

        if (string.IsNullOrWhiteSpace(s.Unit) || s.Unit.Length > 16 || s.Unit.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '"'))
        {
            errors.Add($"{key}:Unit: '{s.Unit}' must be a SenML unit symbol such as m, Pa, Cel or mm/h");
        }

        return errors;
    }
}
