using System.Diagnostics.CodeAnalysis;
using SensorKit.Node.Sensors.Sht3x;
using SensorKit.Simulation.Emulators.Sensirion;

namespace SensorKit.Simulation.Emulators.Sht3x;

/// <summary>
/// Command-level SHT3x-DIS (Sensirion datasheet, version 5): single-shot measurements with and
/// without clock stretching (§4.3, Table 9), read-out of T then RH with CRCs (§4.4), soft reset
/// (§4.9), heater (§4.10), status register read and clear (§4.11). Without clock stretching a read
/// before the measurement has finished is not acknowledged; periodic mode is not emulated and, like
/// any unknown command, is not acknowledged and sets the command-status bit.
/// </summary>
[SensorEmulator(Sht3xSensor.Name)]
public sealed class Sht3xEmulator : SensirionHumidityEmulator
{
    private const ushort StatusAlertPending = 1 << 15;
    private const ushort StatusHeaterOn = 1 << 13;
    private const ushort StatusResetDetected = 1 << 4;
    private const ushort StatusCommandFailed = 1 << 1;

    private ushort _status;
    public Sht3xEmulator(int address = 0x44, TimeProvider? time = null)
        : base(address, time) => PowerOnReset();

    public bool HeaterOn => (_status & StatusHeaterOn) != 0;

    /// <summary>S_RH = RH·(2¹⁶ − 1)/100, the inverse of §4.13.</summary>
    public static ushort EncodeHumidity(double percent) => ToWord(percent * 65535.0 / 100.0);

    public static ushort EncodeTemperature(double celsius) => EncodeCelsius(celsius);

    protected internal override void OnWrite(ReadOnlySpan<byte> data)
    {
        if (data.Length != 2)
        {
            // Commands are 16 bits; the SHT3x takes no arguments on the commands emulated here.
            Reject(data.Length == 0 ? "empty write" : $"{data.Length}-byte write is not a command");
        }

        ushort command = (ushort)((data[0] << 8) | data[1]);
        ClearAnswer();
        switch (command)
        {
            // Single shot, clock stretching disabled: high, medium, low repeatability; 15 / 6 / 4 ms maximum.
            case 0x2400: Measure(TimeSpan.FromMilliseconds(15)); break;
            case 0x240B: Measure(TimeSpan.FromMilliseconds(6)); break;
            case 0x2416: Measure(TimeSpan.FromMilliseconds(4)); break;

            // Clock stretching enabled: the chip holds SCL until the result is there, so it is ready at once.
            case 0x2C06:
            case 0x2C0D:
            case 0x2C10:
                Measure(TimeSpan.Zero);
                break;
            case 0x30A2:
                PowerOnReset();
                return;
            case 0x306D:
                _status |= StatusHeaterOn;
                break;
            case 0x3066:
                _status &= unchecked((ushort)~StatusHeaterOn);
                break;
            case 0xF32D:
                Answer(_status);
                break;
            case 0x3041:
                _status &= unchecked((ushort)~(StatusAlertPending | (1 << 11) | (1 << 10) | StatusResetDetected));
                break;
            default:
                Reject($"unknown command 0x{command:x4}");
                break;
        }

        _status &= unchecked((ushort)~StatusCommandFailed);
    }

    protected override void PowerOnReset()
    {
        ClearAnswer();
        _status = StatusAlertPending | StatusResetDetected;
    }

    protected override ushort HumidityWord(double percent) => EncodeHumidity(percent);

    [DoesNotReturn]
    private void Reject(string why)
    {
        _status |= StatusCommandFailed;
        throw NotAcknowledged(why);
    }
}
