using SensorKit.Node.Sensors.Ads1115;

namespace SensorKit.Simulation.Emulators.Ads1115;

/// <summary>
/// Register-level ADS1115 (TI datasheet SBAS444, "Register Map"). A write's first byte sets the
/// address pointer (Conversion 00, Config 01, Lo_thresh 10, Hi_thresh 11); two more bytes write
/// the 16-bit register MSB first; reads return the pointed register MSB first. Writing Config with
/// OS = 1 in single-shot mode starts one conversion: OS reads 0 until it is done, then the result
/// is in the conversion register and OS reads 1. Until then the conversion register keeps the
/// previous result, which is what a driver that does not wait would get.
/// </summary>
/// <remarks>
/// The physical input "voltage" is the voltage between the inputs the multiplexer selects
/// (AINx − GND, or AINp − AINn). Conversion time is modelled as a number of Config reads
/// (<see cref="BusyPolls"/>) rather than wall time, so tests do not depend on the machine's speed.
/// </remarks>
[SensorEmulator(Ads1115Sensor.Name)]
public sealed class Ads1115Emulator : ChipEmulator
{
    /// <summary>Config register after power-up or reset (datasheet, Config register: 8583h).</summary>
    public const ushort ConfigReset = 0x8583;

    private const ushort OsBit = 0x8000;
    private const ushort ModeSingleShot = 0x0100;

    private static readonly string[] QuantityNames = [Protocol.Quantities.Voltage];

    // FSR by PGA[2:0] (datasheet, "Full-Scale Range (FSR) and LSB Size"); 101-111 are all ±0.256 V.
    private static readonly double[] FullScales = [6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256];

    private byte _pointer;
    private ushort _config;
    private short _conversion;
    private ushort _loThresh;
    private ushort _hiThresh;
    private int _pollsLeft = -1;

    public Ads1115Emulator(int address = 0x48)
        : base(address) => PowerOnReset();

    public override IReadOnlyList<string> Quantities => QuantityNames;

    /// <summary>Config reads during which a single-shot conversion still reports "busy" (OS = 0).</summary>
    public int BusyPolls { get; set; } = 1;

    /// <summary>Conversions that finished and wrote the conversion register.</summary>
    public int Conversions { get; private set; }

    /// <summary>MUX[2:0] of the last conversion started, e.g. 0b110 for AIN2 against GND.</summary>
    public int LastMux { get; private set; }

    /// <summary>The full-scale range, in volts, the last conversion was started with.</summary>
    public double LastFullScale { get; private set; }

    /// <summary>Writes a conversion result directly (datasheet output codes).</summary>
    public void SetConversion(short code)
    {
        lock (Sync)
        {
            _conversion = code;
        }
    }

    /// <summary>The ideal output code for a voltage (datasheet, "Data Format", Table 3): rounded, clipped at 7FFFh and 8000h.</summary>
    public static short Encode(double volts, double fullScale)
    {
        double code = Math.Round(volts / fullScale * 32768.0, MidpointRounding.AwayFromZero);
        return (short)Math.Clamp(code, short.MinValue, short.MaxValue);
    }

    protected internal override void OnWrite(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0)
        {
            return;
        }

        _pointer = (byte)(data[0] & 0x03);
        if (data.Length < 3)
        {
            return;
        }

        ushort value = (ushort)((data[1] << 8) | data[2]);
        switch (_pointer)
        {
            case 0x01:
                WriteConfig(value);
                break;
            case 0x02:
                _loThresh = value;
                break;
            case 0x03:
                _hiThresh = value;
                break;
            default:
                // The conversion register is read-only.
                break;
        }
    }

    protected internal override void OnRead(Span<byte> buffer)
    {
        ushort value = _pointer switch
        {
            0x00 => ReadConversion(),
            0x01 => ReadConfig(),
            0x02 => _loThresh,
            _ => _hiThresh,
        };

        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = (i & 1) == 0 ? (byte)(value >> 8) : (byte)value;
        }
    }

    protected override void PowerOnReset()
    {
        _pointer = 0;
        _config = ConfigReset;
        _conversion = 0;
        _loThresh = 0x8000;
        _hiThresh = 0x7FFF;
        _pollsLeft = -1;
    }

    private void WriteConfig(ushort value)
    {
        // OS is write-only as "start"; what it reads back is the conversion status.
        _config = (ushort)((value & ~OsBit) | (_config & OsBit));
        if ((value & ModeSingleShot) == 0)
        {
            // Continuous mode: always converting, OS reads 0 (see ReadConversion).
            _pollsLeft = -1;
            _config &= unchecked((ushort)~OsBit);
            Start();
            return;
        }

        if ((value & OsBit) != 0 && _pollsLeft < 0)
        {
            _config &= unchecked((ushort)~OsBit);
            _pollsLeft = BusyPolls;
            Start();
        }
    }

    private ushort ReadConfig()
    {
        if (_pollsLeft == 0)
        {
            Complete();
            _pollsLeft = -1;
            _config |= OsBit;
        }
        else if (_pollsLeft > 0)
        {
            _pollsLeft--;
        }

        return _config;
    }

    private ushort ReadConversion()
    {
        if ((_config & ModeSingleShot) == 0)
        {
            // Continuous mode: a new result is ready whenever the controller looks.
            Complete();
        }

        return (ushort)_conversion;
    }

    private void Start()
    {
        LastMux = (_config >> 12) & 0x07;
        LastFullScale = FullScales[(_config >> 9) & 0x07];
    }

    private void Complete()
    {
        ChipFault faults = ActiveFaults;
        if ((faults & ChipFault.Stuck) != 0)
        {
            return;
        }

        double fullScale = FullScales[(_config >> 9) & 0x07];
        double volts = (faults & ChipFault.OutOfRange) != 0 ? 2 * fullScale : Input(Protocol.Quantities.Voltage, 1.0);
        _conversion = Encode(volts, fullScale);
        Conversions++;
    }
}
