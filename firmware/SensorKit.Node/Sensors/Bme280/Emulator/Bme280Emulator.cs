using SensorKit.Node.Sensors.Bme280;
using SensorKit.Protocol;
using SensorKit.Simulation.Emulators.Bosch;

namespace SensorKit.Simulation.Emulators.Bme280;

/// <summary>
/// Register-level BME280 (datasheet BST-BME280-DS002 §5, memory map Table 18).
/// Writes are (register, value) pairs (§6.2.1); a single written byte sets the register pointer,
/// and reads auto-increment from it (§6.2.2). A write to ctrl_meas (0xF4) with mode "forced"
/// performs one measurement, latches it into the data registers and returns to sleep (§3.3.3).
/// </summary>
[SensorEmulator(Bme280Sensor.Name)]
public sealed class Bme280Emulator : BoschRegisterEmulator
{
    public const byte ChipId = 0x60;

    private const byte RegCalib00 = 0x88;
    private const byte RegChipId = 0xD0;
    private const byte RegReset = 0xE0;
    private const byte RegCalib26 = 0xE1;
    private const byte RegCtrlHum = 0xF2;
    private const byte RegStatus = 0xF3;
    private const byte RegCtrlMeas = 0xF4;
    private const byte RegConfig = 0xF5;
    private const byte RegPressMsb = 0xF7;
    private const byte RegTempMsb = 0xFA;
    private const byte RegHumMsb = 0xFD;

    private static readonly string[] QuantityNames = [Protocol.Quantities.Temperature, Protocol.Quantities.Humidity, Protocol.Quantities.Pressure];

    private byte _ctrlHumLatched;

    public Bme280Emulator(int address = 0x76, Bme280Calibration? calibration = null)
        : base(address)
    {
        Calibration = calibration ?? Bme280Calibration.Datasheet;
        PowerOnReset();
    }

    public Bme280Calibration Calibration { get; }

    public override IReadOnlyList<string> Quantities => QuantityNames;

    /// <summary>Measurements performed; tests use it to tell a fresh reading from a stale one.</summary>
    public int Measurements { get; private set; }

    /// <summary>Writes raw ADC values into the data registers directly (datasheet test vectors).</summary>
    public void SetRaw(int adcT, int adcP, int adcH)
    {
        lock (Sync)
        {
            WriteData(adcT, adcP, adcH);
        }
    }

    protected override void PowerOnReset()
    {
        Array.Clear(Registers);
        Registers[RegChipId] = ChipId;
        Bme280Calibration c = Calibration;
        WriteLe(RegCalib00, c.T1);
        WriteLe(RegCalib00 + 2, (ushort)c.T2);
        WriteLe(RegCalib00 + 4, (ushort)c.T3);
        WriteLe(RegCalib00 + 6, c.P1);
        WriteLe(RegCalib00 + 8, (ushort)c.P2);
        WriteLe(RegCalib00 + 10, (ushort)c.P3);
        WriteLe(RegCalib00 + 12, (ushort)c.P4);
        WriteLe(RegCalib00 + 14, (ushort)c.P5);
        WriteLe(RegCalib00 + 16, (ushort)c.P6);
        WriteLe(RegCalib00 + 18, (ushort)c.P7);
        WriteLe(RegCalib00 + 20, (ushort)c.P8);
        WriteLe(RegCalib00 + 22, (ushort)c.P9);
        Registers[0xA1] = c.H1;
        WriteLe(RegCalib26, (ushort)c.H2);
        Registers[0xE3] = c.H3;
        // H4 and H5 are 12-bit values sharing register 0xE5 (Table 16).
        Registers[0xE4] = (byte)(c.H4 >> 4);
        Registers[0xE5] = (byte)((c.H4 & 0x0F) | ((c.H5 & 0x0F) << 4));
        Registers[0xE6] = (byte)(c.H5 >> 4);
        Registers[0xE7] = (byte)c.H6;
        // Reset values of the data registers (Table 18): 0x80000 / 0x8000, "no measurement yet".
        WriteData(0x80000, 0x80000, 0x8000);
        _ctrlHumLatched = 0;
    }

    protected override void WriteRegister(byte register, byte value)
    {
        switch (register)
        {
            case RegReset when value == 0xB6:
                PowerOnReset();
                break;
            case RegCtrlHum:
                // Takes effect only after the next write to ctrl_meas (§5.4.3).
                Registers[RegCtrlHum] = (byte)(value & 0x07);
                break;
            case RegCtrlMeas:
                Registers[RegCtrlMeas] = value;
                _ctrlHumLatched = Registers[RegCtrlHum];
                if ((value & 0x03) is 0x01 or 0x02)
                {
                    Measure();
                    // Forced mode: back to sleep once the measurement is done (§3.3.3).
                    Registers[RegCtrlMeas] = (byte)(value & 0xFC);
                }
                else if ((value & 0x03) == 0x03)
                {
                    Measure();
                }

                break;
            case RegConfig:
                Registers[RegConfig] = value;
                break;
            default:
                // Everything else is read-only on the chip; writes are ignored.
                break;
        }
    }

    private void Measure()
    {
        ChipFault faults = ActiveFaults;
        if ((faults & ChipFault.Stuck) != 0)
        {
            return;
        }

        Measurements++;
        bool outOfRange = (faults & ChipFault.OutOfRange) != 0;
        double celsius = outOfRange ? 150 : Input(Protocol.Quantities.Temperature, 20.0);
        double pascals = Input(Protocol.Quantities.Pressure, 101_325.0);
        double percent = Input(Protocol.Quantities.Humidity, 50.0);
        byte ctrlMeas = Registers[RegCtrlMeas];
        bool tempOn = (ctrlMeas >> 5) != 0;
        bool pressOn = ((ctrlMeas >> 2) & 0x07) != 0;
        bool humOn = (_ctrlHumLatched & 0x07) != 0;

        int adcT = Calibration.EncodeTemperature(celsius);
        double tFine = Calibration.CompensateTemperature(adcT).TFine;
        // A skipped measurement leaves 0x80000 / 0x8000 in the data registers (§4.1).
        WriteData(
            tempOn ? adcT : 0x80000,
            pressOn ? Calibration.EncodePressure(pascals, tFine) : 0x80000,
            humOn ? Calibration.EncodeHumidity(percent, tFine) : 0x8000);
    }

    private void WriteData(int adcT, int adcP, int adcH)
    {
        WriteAdc20(RegPressMsb, adcP);
        WriteAdc20(RegTempMsb, adcT);
        WriteAdc16(RegHumMsb, adcH);
        Registers[RegStatus] = 0;
    }
}
