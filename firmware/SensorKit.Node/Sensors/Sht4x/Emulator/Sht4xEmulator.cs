using SensorKit.Node.Sensors.Sht4x;
using SensorKit.Simulation.Emulators.Sensirion;

namespace SensorKit.Simulation.Emulators.Sht4x;

/// <summary>
/// Command-level SHT4x (Sensirion SHT4x datasheet, command table): 8-bit commands, measurements at
/// high / medium / low repeatability (0xFD / 0xF6 / 0xE0; 8.3 / 4.5 / 1.6 ms maximum), the heater
/// commands (which measure after 0.11 s or 1.1 s of heating; the heating itself is not modelled),
/// serial number (0x89) and soft reset (0x94). The SHT4x has no clock stretching: a read before the
/// measurement has finished is not acknowledged.
/// </summary>
[SensorEmulator(Sht4xSensor.Name)]
public sealed class Sht4xEmulator : SensirionHumidityEmulator
{
    /// <summary>The serial number the emulated chip reports (two words).</summary>
    public const uint SerialNumber = 0x0F2A_61B3;

    public Sht4xEmulator(int address = 0x44, TimeProvider? time = null)
        : base(address, time) => PowerOnReset();

    public static ushort EncodeTemperature(double celsius) => EncodeCelsius(celsius);

    /// <summary>RH = −6 + 125·S/(2¹⁶ − 1) inverted; the chip's raw range is −6 … 119 %RH.</summary>
    public static ushort EncodeHumidity(double percent) => ToWord((percent + 6.0) * 65535.0 / 125.0);

    protected internal override void OnWrite(ReadOnlySpan<byte> data)
    {
        if (data.Length != 1)
        {
            throw NotAcknowledged(data.Length == 0 ? "empty write" : $"{data.Length}-byte write; SHT4x commands are one byte");
        }

        ClearAnswer();
        switch (data[0])
        {
            case 0xFD: Measure(TimeSpan.FromMilliseconds(8.3)); break;
            case 0xF6: Measure(TimeSpan.FromMilliseconds(4.5)); break;
            case 0xE0: Measure(TimeSpan.FromMilliseconds(1.6)); break;

            // Heater at 200 / 110 / 20 mW for 1 s or 0.1 s, then a high-repeatability measurement.
            case 0x39 or 0x2F or 0x1E: Measure(TimeSpan.FromMilliseconds(1100)); break;
            case 0x32 or 0x24 or 0x15: Measure(TimeSpan.FromMilliseconds(110)); break;
            case 0x89:
                Answer([(ushort)(SerialNumber >> 16), unchecked((ushort)SerialNumber)]);
                break;
            case 0x94:
                PowerOnReset();
                break;
            default:
                throw NotAcknowledged($"unknown command 0x{data[0]:x2}");
        }
    }

    protected override void PowerOnReset() => ClearAnswer();

    protected override ushort HumidityWord(double percent) => EncodeHumidity(percent);
}
