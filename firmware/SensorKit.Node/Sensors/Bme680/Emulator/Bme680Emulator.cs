using SensorKit.Node.Sensors.Bme680;
using SensorKit.Simulation.Emulators.Bosch;

namespace SensorKit.Simulation.Emulators.Bme680;

/// <summary>
/// Register-level BME680 (datasheet BST-BME680-DS001 §5.2, memory map). Writes are (register,
/// value) pairs and a single written byte sets the register pointer; reads auto-increment (§6.2).
/// Writing mode "forced" to ctrl_meas (0x74) runs one TPHG cycle (§3.1): it clears new_data_0,
/// sets measuring, and after <see cref="MeasurementTime"/> (zero by default: at once) latches
/// temperature, pressure, humidity and, with run_gas set, the gas resistance with gas_valid_r and
/// heat_stab_r (§5.3.5), sets new_data_0 and drops back to sleep. Control writes during a cycle are
/// ignored (§3.1). Temperature and pressure are quantised to the 16 + (osrs − 1) bits the chip
/// resolves without the IIR filter (§3.3.1, §3.3.2); the filter itself is not modelled.
/// </summary>
[SensorEmulator(Bme680Sensor.Name)]
public sealed class Bme680Emulator : BoschRegisterEmulator
{
    public const byte ChipId = 0x61;

    /// <summary>Heating the hot plate to its target takes about 20–30 ms (§3.3.5); shorter waits leave heat_stab_r clear.</summary>
    public static readonly TimeSpan HeaterSettling = TimeSpan.FromMilliseconds(20);

    private const byte RegResHeatVal = 0x00;
    private const byte RegResHeatRange = 0x02;
    private const byte RegRangeSwErr = 0x04;
    private const byte RegMeasStatus = 0x1D;
    private const byte RegPressMsb = 0x1F;
    private const byte RegTempMsb = 0x22;
    private const byte RegHumMsb = 0x25;
    private const byte RegGasRMsb = 0x2A;
    private const byte RegGasRLsb = 0x2B;
    private const byte RegIdacHeat0 = 0x50;
    private const byte RegResHeat0 = 0x5A;
    private const byte RegGasWait0 = 0x64;
    private const byte RegCtrlGas0 = 0x70;
    private const byte RegCtrlGas1 = 0x71;
    private const byte RegCtrlHum = 0x72;
    private const byte RegCtrlMeas = 0x74;
    private const byte RegConfig = 0x75;
    private const byte RegChipId = 0xD0;
    private const byte RegReset = 0xE0;

    private const byte NewData = 0x80;
    private const byte GasMeasuring = 0x40;
    private const byte MeasuringBit = 0x20;
    private const byte GasValid = 0x20;
    private const byte HeatStable = 0x10;

    private static readonly string[] QuantityNames =
        [Protocol.Quantities.Temperature, Protocol.Quantities.Humidity, Protocol.Quantities.Pressure, Protocol.Quantities.GasResistance];

    private long? _cycleEndsAt;

    public Bme680Emulator(int address = 0x76, Bme680Calibration? calibration = null, TimeProvider? time = null)
        : base(address)
    {
        Calibration = calibration ?? Bme680Calibration.Production;
        Time = time ?? TimeProvider.System;
        PowerOnReset();
    }

    public Bme680Calibration Calibration { get; }

    public TimeProvider Time { get; }

    public override IReadOnlyList<string> Quantities => QuantityNames;

    /// <summary>How long a TPHG cycle takes; zero finishes it within the write that starts it.</summary>
    public TimeSpan MeasurementTime { get; set; }

    /// <summary>TPHG cycles completed; tests use it to tell a fresh reading from a stale one.</summary>
    public int Measurements { get; private set; }

    /// <summary>Writes raw ADC values into the data registers directly, with a valid, stable gas reading (reference computations).</summary>
    public void SetRaw(int adcT, int adcP, int adcH, int gasAdc, int gasRange)
    {
        lock (Sync)
        {
            WriteData(adcT, adcP, adcH);
            WriteGas(gasAdc, gasRange, GasValid | HeatStable);
        }
    }

    protected override void OnTransfer() => FinishCycleIfDue();

    protected override void PowerOnReset()
    {
        Array.Clear(Registers);
        _cycleEndsAt = null;
        Registers[RegChipId] = ChipId;
        Bme680Calibration c = Calibration;

        // Calibration blocks 0x89-0xA1 and 0xE1-0xF0 at the addresses the datasheet's compensation-parameter tables give.
        WriteLe(0x8A, (ushort)c.T2);
        Registers[0x8C] = (byte)c.T3;
        WriteLe(0x8E, c.P1);
        WriteLe(0x90, (ushort)c.P2);
        Registers[0x92] = (byte)c.P3;
        WriteLe(0x94, (ushort)c.P4);
        WriteLe(0x96, (ushort)c.P5);
        Registers[0x98] = (byte)c.P7;
        Registers[0x99] = (byte)c.P6;
        WriteLe(0x9C, (ushort)c.P8);
        WriteLe(0x9E, (ushort)c.P9);
        Registers[0xA0] = c.P10;

        // par_h1 and par_h2 are 12-bit values sharing register 0xE2.
        Registers[0xE1] = (byte)(c.H2 >> 4);
        Registers[0xE2] = (byte)(((c.H2 & 0x0F) << 4) | (c.H1 & 0x0F));
        Registers[0xE3] = (byte)(c.H1 >> 4);
        Registers[0xE4] = (byte)c.H3;
        Registers[0xE5] = (byte)c.H4;
        Registers[0xE6] = (byte)c.H5;
        Registers[0xE7] = c.H6;
        Registers[0xE8] = (byte)c.H7;
        WriteLe(0xE9, c.T1);
        WriteLe(0xEB, (ushort)c.Gh2);
        Registers[0xED] = (byte)c.Gh1;
        Registers[0xEE] = (byte)c.Gh3;
        Registers[RegResHeatVal] = (byte)c.ResHeatVal;
        Registers[RegResHeatRange] = (byte)((c.ResHeatRange & 0x03) << 4);
        Registers[RegRangeSwErr] = (byte)((c.RangeSwitchingError & 0x0F) << 4);

        // Reset values of the data registers: 0x80000 / 0x8000, "no measurement yet".
        WriteData(0x80000, 0x80000, 0x8000);
    }

    protected override void WriteRegister(byte register, byte value)
    {
        if (register == RegReset)
        {
            if (value == 0xB6)
            {
                PowerOnReset();
            }

            return;
        }

        bool control = register is (>= RegIdacHeat0 and < RegGasWait0 + 10) or (>= RegCtrlGas0 and <= RegConfig);
        if (!control || _cycleEndsAt is not null)
        {
            // Read-only registers ignore writes, and so do control registers while a cycle runs (§3.1).
            return;
        }

        Registers[register] = value;
        if (register == RegCtrlMeas && (value & 0x03) == 0x01)
        {
            StartCycle();
        }
    }

    private void StartCycle()
    {
        Registers[RegMeasStatus] = (byte)(MeasuringBit | ((Registers[RegCtrlGas1] & 0x10) != 0 ? GasMeasuring : 0));
        if (MeasurementTime <= TimeSpan.Zero)
        {
            FinishCycle();
        }
        else
        {
            _cycleEndsAt = Time.GetTimestamp() + (long)(MeasurementTime.TotalSeconds * Time.TimestampFrequency);
        }
    }

    private void FinishCycleIfDue()
    {
        if (_cycleEndsAt is { } end && Time.GetTimestamp() >= end)
        {
            FinishCycle();
        }
    }

    private void FinishCycle()
    {
        _cycleEndsAt = null;
        ChipFault faults = ActiveFaults;
        byte ctrlGas1 = Registers[RegCtrlGas1];
        int profile = ctrlGas1 & 0x0F;
        if ((faults & ChipFault.Stuck) == 0)
        {
            Measure(faults, ctrlGas1, profile);
        }

        Measurements++;
        Registers[RegMeasStatus] = (byte)(NewData | profile);

        // Forced mode: back to sleep once the cycle is done (§3.1, Table 10).
        Registers[RegCtrlMeas] &= 0xFC;
    }

    private void Measure(ChipFault faults, byte ctrlGas1, int profile)
    {
        Bme680Calibration c = Calibration;
        byte ctrlMeas = Registers[RegCtrlMeas];
        int osrsT = ctrlMeas >> 5;
        int osrsP = (ctrlMeas >> 2) & 0x07;
        int osrsH = Registers[RegCtrlHum] & 0x07;
        bool filtered = ((Registers[RegConfig] >> 2) & 0x07) != 0;

        double celsius = (faults & ChipFault.OutOfRange) != 0 ? 150.0 : Input(Protocol.Quantities.Temperature, 20.0);
        int adcT = c.EncodeTemperature(celsius, Step(osrsT, filtered));
        double tFine = c.CompensateTemperature(adcT).TFine;

        // A skipped measurement leaves 0x80000 / 0x8000 in its data registers (§5.3.2).
        WriteData(
            osrsT != 0 ? adcT : 0x80000,
            osrsP != 0 ? c.EncodePressure(Input(Protocol.Quantities.Pressure, 101_325.0), tFine, Step(osrsP, filtered)) : 0x80000,
            osrsH != 0 ? c.EncodeHumidity(Input(Protocol.Quantities.Humidity, 50.0), tFine) : 0x8000);

        if ((ctrlGas1 & 0x10) == 0)
        {
            // run_gas off: the gas slot is a dummy conversion (§5.3.5.5).
            WriteGas(0, 0, 0);
            return;
        }

        bool heaterOn = (Registers[RegCtrlGas0] & 0x08) == 0;
        bool stable = heaterOn && Registers[RegResHeat0 + profile] != 0 && GasWait(Registers[RegGasWait0 + profile]) >= HeaterSettling;
        (int gasAdc, int gasRange) = c.EncodeGas(Input(Protocol.Quantities.GasResistance, 120_000.0));
        WriteGas(gasAdc, gasRange, (byte)(GasValid | (stable ? HeatStable : 0)));
    }

    /// <summary>Without the IIR filter the ADC resolves 16 + (osrs − 1) of the 20 bits (§3.3.1).</summary>
    private static int Step(int osrs, bool filtered) =>
        filtered || osrs == 0 ? 1 : 1 << (20 - Math.Min(20, 16 + Math.Min(osrs, 5) - 1));

    /// <summary>gas_wait_x: 6-bit value in ms times a factor 1, 4, 16 or 64 in bits 7:6 (§5.3.3.3).</summary>
    private static TimeSpan GasWait(byte code) => TimeSpan.FromMilliseconds((code & 0x3F) * (1 << (2 * (code >> 6))));

    private void WriteData(int adcT, int adcP, int adcH)
    {
        WriteAdc20(RegPressMsb, adcP);
        WriteAdc20(RegTempMsb, adcT);
        WriteAdc16(RegHumMsb, adcH);
    }

    private void WriteGas(int adc, int range, byte flags)
    {
        // gas_r<9:2> in 0x2A; gas_r<1:0>, gas_valid_r, heat_stab_r and gas_range_r in 0x2B (§5.3.4.4).
        Registers[RegGasRMsb] = (byte)(adc >> 2);
        Registers[RegGasRLsb] = (byte)(((adc & 0x03) << 6) | flags | (range & 0x0F));
    }
}
