using System.Device.I2c;
using System.Diagnostics;
using System.Globalization;
using Iot.Device.Adc;
using SensorKit.Node.Configuration;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Ina219;

/// <summary>
/// Reads the node's supply (bus voltage, current, power) from an INA219 through
/// <see cref="Iot.Device.Adc.Ina219"/>, one triggered conversion per read (datasheet SBOS448G §8.3.1,
/// MODE 011 in §8.6.2.1): writing the mode starts one conversion of shunt and bus voltage and
/// clears the conversion-ready flag CNVR, which is set again when both results, current and power
/// are done (§8.6.3.2). The binding drops CNVR and the math-overflow flag OVF (bus voltage register bits 1
/// and 0), so the adapter reads that register itself and returns nothing until CNVR is set; in the
/// chip's default continuous mode nothing would tell a new value from an old one.
/// </summary>
/// <remarks>
/// The binding decodes the shunt voltage and current registers as unsigned, so a negative current
/// (a battery being charged) would come out near +65536 LSB, and it sign-extends the 13-bit bus
/// voltage, so 16.4 V and above come out negative; the adapter restores both.
/// </remarks>
public sealed class Ina219Adapter : ISensorAdapter
{
    public const double DefaultShuntResistance = 0.1;
    public const double DefaultMaxCurrent = 3.2;

    /// <summary>Largest bus voltage the chip measures (datasheet §1, 0–26 V).</summary>
    public const double MaxBusVolts = 26.0;

    private const byte BusVoltageRegister = 0x02;
    private const int ConversionReady = 0x02;
    private const int MathOverflow = 0x01;
    private const double ShuntLsbVolts = 10e-6;
    private const double BusLsbVolts = 4e-3;

    // 12-bit shunt plus 12-bit bus conversion take 2 × 532 µs (§7.5); allow for a slow bus on top.
    private static readonly TimeSpan ConversionTimeout = TimeSpan.FromMilliseconds(20);

    private readonly I2cDevice _device;
    private readonly Iot.Device.Adc.Ina219 _ina;
    private readonly Ina219Calibration _calibration;

    public Ina219Adapter(I2cDevice device, SensorOptions options)
    {
        _device = device;
        _calibration = Ina219Calibration.For(options.ShuntResistance ?? DefaultShuntResistance, options.MaxCurrent ?? DefaultMaxCurrent);
        try
        {
            _ina = new Iot.Device.Adc.Ina219(device);
            // Back to power-on defaults (§8.6.2.1: 399Fh, 12-bit, 32 V range); the binding caches the ADC settings for its waits.
            _ina.Reset();
            _ina.PgaSensitivity = _calibration.Pga;
            _ina.SetCalibration(_calibration.Register, (float)_calibration.CurrentLsb);
            _ina.OperatingMode = Ina219OperatingMode.PowerDown;
        }
        catch
        {
            // The binding never disposes the device it was given, and the sampler opens a new one on every retry.
            device.Dispose();
            throw;
        }
    }

    public Ina219Calibration Calibration => _calibration;

    public void Read(Span<double> values)
    {
        _ina.OperatingMode = Ina219OperatingMode.ShuntAndBusTriggered;
        int flags = WaitForConversion();
        if ((flags & MathOverflow) != 0)
        {
            throw new SensorReadException("INA219 math overflow (OVF): current or power beyond their registers; raise MaxCurrent");
        }

        // The shunt register clips at the range's end (±4000 × PGA gain LSB, §8.6.3.1): beyond it the current is unknown.
        long shunt = SignedRaw(_ina.ReadShuntVoltage().Volts, ShuntLsbVolts);
        long limit = (long)Math.Round(_calibration.ShuntFullScale / ShuntLsbVolts);
        if (Math.Abs(shunt) >= limit)
        {
            throw new SensorReadException(string.Create(CultureInfo.InvariantCulture, $"INA219 shunt voltage at the ±{_calibration.ShuntFullScale * 1000:0} mV limit; the current is unknown (raise MaxCurrent)"));
        }

        values[0] = UnsignedBusVolts(_ina.ReadBusVoltage().Volts);
        values[1] = SignedRaw(_ina.ReadCurrent().Amperes, _calibration.CurrentLsb) * _calibration.CurrentLsb;
        // Reading the power register also clears CNVR (§8.6.3.2).
        values[2] = (double)_ina.ReadPower().Watts;
    }

    public void Dispose()
    {
        _ina.Dispose();
        _device.Dispose();
    }

    /// <summary>The channels with the default shunt and maximum current.</summary>
    public static IReadOnlyList<ChannelSpec> DefaultChannels { get; } = ChannelsFor(new SensorOptions());

    /// <summary>Bus voltage, current (±MaxCurrent) and power.</summary>
    public static IReadOnlyList<ChannelSpec> ChannelsFor(SensorOptions options)
    {
        double max = options.MaxCurrent ?? DefaultMaxCurrent;
        return
        [
            new ChannelSpec(Quantities.Voltage, Units.Volt, 0, MaxBusVolts),
            new ChannelSpec(Quantities.Current, Units.Ampere, -max, max),
            new ChannelSpec(Quantities.Power, Units.Watt, 0, MaxBusVolts * max),
        ];
    }

    public static IEnumerable<string> Validate(SensorOptions options, string key)
    {
        var errors = new List<string>();
        double r = options.ShuntResistance ?? DefaultShuntResistance;
        double max = options.MaxCurrent ?? DefaultMaxCurrent;
        if (!double.IsFinite(r) || r <= 0)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{key}:ShuntResistance: {r} must be a positive number of ohms (0.1 on most breakouts)"));
        }

        if (!double.IsFinite(max) || max <= 0)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{key}:MaxCurrent: {max} must be a positive number of amperes"));
        }

        // The tolerance lets 3.2 A × 0.1 Ω (0.32000000000000006 in binary floating point) through.
        if (errors.Count == 0 && max * r > Ina219Calibration.LargestShuntFullScale + 1e-9)
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{key}:MaxCurrent: {max} A through {r} Ω drops {max * r * 1000:0.#} mV, beyond the INA219's ±320 mV shunt range; use a smaller shunt resistor"));
        }

        return errors;
    }

    /// <summary>Polls the bus voltage register until CNVR is set; returns its flag bits.</summary>
    private int WaitForConversion()
    {
        Span<byte> pointer = [BusVoltageRegister];
        Span<byte> data = stackalloc byte[2];
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            // Each poll is a bus transfer (about 0.4 ms at 100 kHz), so no extra delay is needed.
            _device.Write(pointer);
            _device.Read(data);
            int flags = data[1] & (ConversionReady | MathOverflow);
            if ((flags & ConversionReady) != 0)
            {
                return flags;
            }

            if (Stopwatch.GetElapsedTime(start) > ConversionTimeout)
            {
                throw new SensorReadException($"INA219 conversion not ready after {ConversionTimeout.TotalMilliseconds} ms; its registers would hold old values");
            }
        }
    }

    /// <summary>
    /// The bus voltage is 13 unsigned bits (§8.6.3.2), but the binding sign-extends the register, so
    /// 16.384 V and above come out 32.768 V too low (24 V reads as −8.768 V).
    /// </summary>
    private static double UnsignedBusVolts(double decoded) => decoded < 0 ? decoded + (8192 * BusLsbVolts) : decoded;

    /// <summary>The register value behind a reading the binding decoded as unsigned, as the two's-complement number it is.</summary>
    private static long SignedRaw(double decoded, double lsb)
    {
        long raw = (long)Math.Round(decoded / lsb);
        return raw > short.MaxValue ? raw - 65536 : raw;
    }
}

/// <summary>
/// Calibration for a shunt and an expected maximum current (datasheet SBOS448G §8.5.1):
/// Current_LSB = MaxCurrent / 2^15, Cal = trunc(0.04096 / (Current_LSB × R_shunt)), Power_LSB = 20 × Current_LSB.
/// </summary>
public readonly record struct Ina219Calibration(ushort Register, double CurrentLsb, Ina219PgaSensitivity Pga, double ShuntFullScale)
{
    public const double LargestShuntFullScale = 0.32;

    private static readonly (double Volts, Ina219PgaSensitivity Pga)[] ShuntRanges =
    [
        (0.04, Ina219PgaSensitivity.PlusOrMinus40mv),
        (0.08, Ina219PgaSensitivity.PlusOrMinus80mv),
        (0.16, Ina219PgaSensitivity.PlusOrMinus160mv),
        (0.32, Ina219PgaSensitivity.PlusOrMinus320mv),
    ];

    public static Ina219Calibration For(double shuntResistance, double maxCurrent)
    {
        double lsb = maxCurrent / 32768.0;
        double cal = Math.Floor(0.04096 / (lsb * shuntResistance));
        // Bit 0 of the calibration register is void and reads 0 (§8.6.4.1); 16 bits at most.
        ushort register = (ushort)((int)Math.Clamp(cal, 2, 0xFFFE) & 0xFFFE);

        // The LSB the truncated register really gives, so decoded currents carry no scaling error.
        double effectiveLsb = 0.04096 / (register * shuntResistance);

        // The smallest shunt range (PGA gain) that holds the maximum current: the finest resolution.
        double drop = maxCurrent * shuntResistance;
        // A drop right at a range's end would already read as clipped, hence the strict comparison.
        (double volts, Ina219PgaSensitivity pga) = ShuntRanges.FirstOrDefault(r => drop < r.Volts - 1e-9, ShuntRanges[^1]);
        return new Ina219Calibration(register, effectiveLsb, pga, volts);
    }
}
