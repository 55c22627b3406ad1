using SensorKit.Node.Sensors.Scd4x;
using SensorKit.Simulation.Emulators.Sensirion;

namespace SensorKit.Simulation.Emulators.Scd4x;

/// <summary>
/// Command-level SCD40/SCD41 (Sensirion SCD4x datasheet, version 1.3, command table §3.4).
/// Periodic measurement (§3.5.1, a result every 5 s; low-power §3.8.1, every 30 s) runs on
/// <see cref="SensirionEmulator.Time"/>; get_data_ready_status (§3.8.2) says whether a result is
/// waiting, and read_measurement (§3.5.2) hands it out once, or is not acknowledged when there is
/// none. Commands the chip refuses during periodic measurement (the "During meas." column) are not
/// acknowledged either. Also: stop_periodic_measurement, reinit, get_serial_number,
/// set/get_ambient_pressure, set/get_temperature_offset, set/get_sensor_altitude.
/// </summary>
[SensorEmulator(Scd4xSensor.Name)]
public sealed class Scd4xEmulator : SensirionEmulator
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan LowPowerPeriod = TimeSpan.FromSeconds(30);

    /// <summary>The serial number the emulated chip reports (three words, §3.9.2).</summary>
    public const ulong SerialNumber = 0x9A3B_27F4_1C3B;

    private static readonly string[] QuantityNames = [Protocol.Quantities.Co2, Protocol.Quantities.Temperature, Protocol.Quantities.Humidity];

    private TimeSpan _period;
    private long _periodicSince;
    private long _resultsRead;
    private ushort _lastCo2;
    private ushort _lastTemperature;
    private ushort _lastHumidity;
    private (ushort Co2, ushort Temperature, ushort Humidity)? _raw;

    public Scd4xEmulator(int address = 0x62, TimeProvider? time = null)
        : base(address, time) => PowerOnReset();

    public override IReadOnlyList<string> Quantities => QuantityNames;

    /// <summary>True while periodic measurement runs (normal or low power).</summary>
    public bool Measuring => _period != TimeSpan.Zero;

    /// <summary>Results handed out by read_measurement.</summary>
    public int Measurements { get; private set; }

    /// <summary>The last value written with set_ambient_pressure, in hPa.</summary>
    public ushort AmbientPressureHectopascals { get; private set; }

    /// <summary>Temperature offset word (set_temperature_offset); the factory default is 4 °C.</summary>
    public ushort TemperatureOffsetWord { get; private set; }

    public ushort SensorAltitudeMetres { get; private set; }

    /// <summary>Makes every following result report these raw words (datasheet test vectors).</summary>
    public void SetRaw(ushort co2Word, ushort temperatureWord, ushort humidityWord)
    {
        lock (Sync)
        {
            _raw = (co2Word, temperatureWord, humidityWord);
        }
    }

    /// <summary>CO2 is sent in ppm as is (§3.5.2).</summary>
    public static ushort EncodeCo2(double ppm) => ToWord(ppm);

    /// <summary>T = −45 + 175·word/2¹⁶ inverted (§3.5.2).</summary>
    public static ushort EncodeTemperature(double celsius) => ToWord((celsius + 45.0) * 65536.0 / 175.0);

    /// <summary>RH = 100·word/2¹⁶ inverted (§3.5.2).</summary>
    public static ushort EncodeHumidity(double percent) => ToWord(percent * 65536.0 / 100.0);

    protected internal override void OnWrite(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            throw NotAcknowledged(data.Length == 0 ? "empty write" : "SCD4x commands are 16 bits");
        }

        ushort command = (ushort)((data[0] << 8) | data[1]);
        ClearAnswer();
        switch (command)
        {
            case 0x21B1:
                Start(command, Period);
                break;
            case 0x21AC:
                Start(command, LowPowerPeriod);
                break;
            case 0x3F86:
                // Accepted in either state, as drivers send it first to get a known state.
                _period = TimeSpan.Zero;
                break;
            case 0xEC05:
                ReadMeasurement();
                break;
            case 0xE4B8:
                // The low 11 bits are zero when no result is waiting.
                Answer(ResultsAvailable() > _resultsRead ? (ushort)0x8006 : (ushort)0x8000);
                break;
            case 0xE000:
                // set_ambient_pressure with an argument, get_ambient_pressure without; allowed while measuring.
                if (data.Length > 2)
                {
                    AmbientPressureHectopascals = Argument(data, 0);
                }
                else
                {
                    Answer(AmbientPressureHectopascals);
                }

                break;
            case 0x241D:
                RequireIdle(command);
                TemperatureOffsetWord = Argument(data, 0);
                break;
            case 0x2318:
                RequireIdle(command);
                Answer(TemperatureOffsetWord);
                break;
            case 0x2427:
                RequireIdle(command);
                SensorAltitudeMetres = Argument(data, 0);
                break;
            case 0x2322:
                RequireIdle(command);
                Answer(SensorAltitudeMetres);
                break;
            case 0x3682:
                RequireIdle(command);
                Answer([(ushort)(SerialNumber >> 32), unchecked((ushort)(SerialNumber >> 16)), unchecked((ushort)SerialNumber)]);
                break;
            case 0x3646:
                RequireIdle(command);
                ReloadSettings();
                break;
            default:
                throw NotAcknowledged($"unknown command 0x{command:x4}");
        }
    }

    protected override void PowerOnReset()
    {
        ClearAnswer();
        _period = TimeSpan.Zero;
        _resultsRead = 0;
        ReloadSettings();
    }

    private void ReloadSettings()
    {
        // Factory defaults: 4 °C temperature offset (word = offset·2¹⁶/175), altitude 0 m.
        TemperatureOffsetWord = (ushort)Math.Round(4.0 * 65536.0 / 175.0);
        SensorAltitudeMetres = 0;
        AmbientPressureHectopascals = 0;
    }

    private void Start(ushort command, TimeSpan period)
    {
        RequireIdle(command);
        _period = period;
        _periodicSince = Time.GetTimestamp();
        _resultsRead = 0;
    }

    private void RequireIdle(ushort command)
    {
        if (Measuring)
        {
            throw NotAcknowledged($"command 0x{command:x4} is not accepted during periodic measurement");
        }
    }

    /// <summary>Results the chip has produced since periodic measurement started.</summary>
    private long ResultsAvailable() =>
        Measuring ? (long)(Time.GetElapsedTime(_periodicSince) / _period) : 0;

    private void ReadMeasurement()
    {
        long available = ResultsAvailable();
        if (available <= _resultsRead)
        {
            // No answer queued: the read that follows is not acknowledged, as on the chip.
            return;
        }

        _resultsRead = available;
        ChipFault faults = ActiveFaults;
        if ((faults & ChipFault.Stuck) == 0 || Measurements == 0)
        {
            if (_raw is { } raw)
            {
                (_lastCo2, _lastTemperature, _lastHumidity) = raw;
            }
            else
            {
                // 0xFFFF ppm is far beyond the 40 000 ppm output range.
                _lastCo2 = (faults & ChipFault.OutOfRange) != 0 ? ushort.MaxValue : EncodeCo2(Input(Protocol.Quantities.Co2, 420.0));
                _lastTemperature = EncodeTemperature(Input(Protocol.Quantities.Temperature, 20.0));
                _lastHumidity = EncodeHumidity(Input(Protocol.Quantities.Humidity, 50.0));
            }
        }

        Measurements++;
        Answer([_lastCo2, _lastTemperature, _lastHumidity]);
    }
}
