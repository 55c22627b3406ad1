using SensorKit.Node.Sensors.Ina219;

namespace SensorKit.Simulation.Emulators.Ina219;

/// <summary>
/// Register-level INA219 (TI datasheet SBOS448G §8.6): a write's first byte is the register
/// pointer, two more bytes write the 16-bit register MSB first; reads return the pointed register.
/// Physical inputs are the bus "voltage" (V) and the "current" (A) through a shunt of
/// <see cref="ShuntResistance"/> ohms on the emulated board.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Shunt voltage register: 10 µV per LSB, two's complement, clipped at ±4000 × PGA gain (§8.6.3.1).</item>
/// <item>Bus voltage register: bits 15–3 at 4 mV per LSB, bit 1 CNVR (conversion ready), bit 0 OVF (math overflow) (§8.6.3.2).</item>
/// <item>Current = Shunt × Calibration / 4096, Power = |Current| × Bus / 5000 (§8.5.1, equations 4 and 5), both computed from the latched results when read; OVF is set when either does not fit its register.</item>
/// <item>Writing a triggered MODE starts one conversion and clears CNVR; continuous modes convert whenever a result is read (§8.3.1).</item>
/// <item>The conversion time (2 × 532 µs at 12 bit) is modelled as result reads (<see cref="BusyPolls"/>), not wall time.</item>
/// </list>
/// </remarks>
[SensorEmulator(Ina219Sensor.Name)]
public sealed class Ina219Emulator : ChipEmulator
{
    /// <summary>Configuration register after power-up or reset (§8.6.2.1).</summary>
    public const ushort ConfigReset = 0x399F;

    private const ushort ResetBit = 0x8000;
    private const ushort Cnvr = 0x0002;
    private const ushort Ovf = 0x0001;

    private static readonly string[] QuantityNames = [Protocol.Quantities.Voltage, Protocol.Quantities.Current];

    private byte _pointer;
    private ushort _config;
    private short _shunt;
    private ushort _busBits;
    private ushort _calibration;
    private bool _ready;
    private int _pollsLeft = -1;

    public Ina219Emulator(int address = 0x40, double shuntResistance = 0.1)
        : base(address)
    {
        ShuntResistance = shuntResistance;
        PowerOnReset();
    }

    public double ShuntResistance { get; }

    public override IReadOnlyList<string> Quantities => QuantityNames;

    /// <summary>Result reads during which a triggered conversion is still running.</summary>
    public int BusyPolls { get; set; } = 1;

    /// <summary>Conversions that wrote new results.</summary>
    public int Conversions { get; private set; }

    /// <summary>The calibration register as last written (bit 0 always reads 0).</summary>
    public ushort CalibrationRegister
    {
        get
        {
            lock (Sync)
            {
                return _calibration;
            }
        }
    }

    /// <summary>The configuration register (tests check the PGA and mode the driver set).</summary>
    public ushort ConfigRegister
    {
        get
        {
            lock (Sync)
            {
                return _config;
            }
        }
    }

    /// <summary>Writes raw conversion results directly (datasheet examples): shunt in 10 µV, bus in 4 mV.</summary>
    public void SetRaw(short shunt, ushort bus)
    {
        lock (Sync)
        {
            _shunt = shunt;
            _busBits = (ushort)(bus << 3);
            _ready = true;
        }
    }

    protected internal override void OnWrite(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0)
        {
            return;
        }

        _pointer = data[0];
        if (data.Length < 3)
        {
            return;
        }

        ushort value = (ushort)((data[1] << 8) | data[2]);
        switch (_pointer)
        {
            case 0x00:
                WriteConfig(value);
                break;
            case 0x05:
                // FS0 is void and always 0 (§8.6.4.1).
                _calibration = (ushort)(value & 0xFFFE);
                break;
            default:
                // Result registers are read-only.
                break;
        }
    }

    protected internal override void OnRead(Span<byte> buffer)
    {
        if (_pointer is >= 0x01 and <= 0x04)
        {
            Poll();
        }

        ushort value = _pointer switch
        {
            0x00 => _config,
            0x01 => (ushort)_shunt,
            0x02 => (ushort)(_busBits | (_ready ? Cnvr : 0) | (Overflows() ? Ovf : 0)),
            0x03 => (ushort)Math.Min(Power(), ushort.MaxValue),
            0x04 => (ushort)(short)Math.Clamp(Current(), short.MinValue, short.MaxValue),
            0x05 => _calibration,
            _ => 0,
        };

        // Reading the power register clears CNVR (§8.6.3.2).
        if (_pointer == 0x03)
        {
            _ready = false;
        }

        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = (i & 1) == 0 ? (byte)(value >> 8) : (byte)value;
        }
    }

    protected override void PowerOnReset()
    {
        _pointer = 0;
        _config = ConfigReset;
        _shunt = 0;
        _busBits = 0;
        _calibration = 0;
        _ready = false;
        _pollsLeft = -1;
    }

    private int Mode => _config & 0x07;

    private void WriteConfig(ushort value)
    {
        if ((value & ResetBit) != 0)
        {
            PowerOnReset();
            return;
        }

        _config = value;
        int mode = Mode;
        if (mode is 0 or 4)
        {
            // Power-down and ADC off: nothing converts, CNVR is left as it was.
            _pollsLeft = -1;
            return;
        }

        _ready = false;
        _pollsLeft = mode <= 3 ? BusyPolls : -1;
    }

    private void Poll()
    {
        int mode = Mode;
        if (mode >= 5)
        {
            Convert();
            return;
        }

        if (_pollsLeft < 0)
        {
            return;
        }

        if (_pollsLeft > 0)
        {
            _pollsLeft--;
            return;
        }

        _pollsLeft = -1;
        Convert();
    }

    private void Convert()
    {
        ChipFault faults = ActiveFaults;
        _ready = true;
        if ((faults & ChipFault.Stuck) != 0)
        {
            return;
        }

        Conversions++;
        int mode = Mode;
        int pga = (_config >> 11) & 0x03;
        int shuntLimit = 4000 << pga;
        if ((mode & 0x01) != 0)
        {
            double shuntVolts = (faults & ChipFault.OutOfRange) != 0
                ? 2 * shuntLimit * 10e-6
                : Input(Protocol.Quantities.Current, 0.25) * ShuntResistance;
            _shunt = (short)Math.Clamp(Math.Round(shuntVolts / 10e-6), -shuntLimit, shuntLimit);
        }

        if ((mode & 0x02) != 0)
        {
            // BRNG: 16 V or 32 V full scale; 4 mV per LSB either way.
            int busLimit = (_config & 0x2000) != 0 ? 8000 : 4000;
            double busVolts = Input(Protocol.Quantities.Voltage, 12.0);
            _busBits = (ushort)(Math.Clamp((int)Math.Round(busVolts / 0.004), 0, busLimit) << 3);
        }
    }

    private long Current() => (long)_shunt * _calibration / 4096;

    private long Power() => Math.Abs(Current()) * (_busBits >> 3) / 5000;

    private bool Overflows()
    {
        long current = Current();
        return current > short.MaxValue || current < short.MinValue || Power() > ushort.MaxValue;
    }
}
