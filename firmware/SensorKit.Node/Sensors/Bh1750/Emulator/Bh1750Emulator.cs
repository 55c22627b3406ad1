using SensorKit.Node.Sensors.Bh1750;

namespace SensorKit.Simulation.Emulators.Bh1750;

/// <summary>
/// Command-level BH1750FVI (ROHM datasheet, "Instruction Set Architecture"): one-byte opcodes
/// (power down 00h, power on 01h, reset 07h, continuous 10h/11h/13h, one-time 20h/21h/23h,
/// MTreg high 01000_MT[7:5] and low 011_MT[4:0]); a two-byte read returns the data register,
/// MSB first. A measurement takes 120 ms (H-resolution) or 16 ms (L-resolution) at MTreg 69,
/// scaled by MTreg/69, on <see cref="Time"/>; the data register changes only when one completes,
/// so a read right after the command returns the previous result. Reset clears the data register
/// and is ignored in power-down. One-time modes power down after their measurement.
/// </summary>
[SensorEmulator(Bh1750Sensor.Name)]
public sealed class Bh1750Emulator : ChipEmulator
{
    /// <summary>Typical measurement times at MTreg 69 (datasheet, electrical characteristics).</summary>
    public static readonly TimeSpan HighResolutionTime = TimeSpan.FromMilliseconds(120);

    public static readonly TimeSpan LowResolutionTime = TimeSpan.FromMilliseconds(16);

    private const byte DefaultMtreg = 69;

    private static readonly string[] QuantityNames = [Protocol.Quantities.Illuminance];

    private bool _poweredOn;
    private ushort _data;
    private byte _mtreg;
    private byte _mode;
    private DateTimeOffset? _completesAt;

    public Bh1750Emulator(int address = 0x23, TimeProvider? time = null)
        : base(address)
    {
        Time = time ?? TimeProvider.System;
        PowerOnReset();
    }

    public TimeProvider Time { get; }

    public override IReadOnlyList<string> Quantities => QuantityNames;

    /// <summary>Measurements that completed and wrote the data register.</summary>
    public int Measurements { get; private set; }

    public byte Mtreg
    {
        get
        {
            lock (Sync)
            {
                return _mtreg;
            }
        }
    }

    /// <summary>The raw count for an illuminance: lx × 1.2 × MTreg/69, doubled in H-resolution mode 2, saturating at FFFFh.</summary>
    public static ushort Encode(double lux, byte mtreg = DefaultMtreg, bool mode2 = false)
    {
        double count = lux * 1.2 * mtreg / DefaultMtreg * (mode2 ? 2 : 1);
        return (ushort)Math.Clamp(Math.Floor(count), 0, ushort.MaxValue);
    }

    /// <summary>Writes the data register directly (datasheet example).</summary>
    public void SetRaw(ushort count)
    {
        lock (Sync)
        {
            _data = count;
        }
    }

    protected internal override void OnWrite(ReadOnlySpan<byte> data)
    {
        Update();
        foreach (byte opcode in data)
        {
            Execute(opcode);
        }
    }

    protected internal override void OnRead(Span<byte> buffer)
    {
        Update();
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = (i & 1) == 0 ? (byte)(_data >> 8) : (byte)_data;
        }
    }

    protected override void PowerOnReset()
    {
        // Power-on state: power down, data register 0, MTreg 69 (datasheet, "Explanation of Asynchronous reset").
        _poweredOn = false;
        _data = 0;
        _mtreg = DefaultMtreg;
        _mode = 0;
        _completesAt = null;
    }

    private void Execute(byte opcode)
    {
        switch (opcode)
        {
            case 0x00:
                _poweredOn = false;
                _completesAt = null;
                break;
            case 0x01:
                _poweredOn = true;
                break;
            case 0x07:
                if (_poweredOn)
                {
                    _data = 0;
                }

                break;
            case 0x10 or 0x11 or 0x13 or 0x20 or 0x21 or 0x23:
                // A measurement command powers the chip up and (re)starts a measurement.
                _poweredOn = true;
                _mode = opcode;
                _completesAt = Time.GetUtcNow() + MeasurementTime();
                break;
            case >= 0x40 and <= 0x47:
                _mtreg = (byte)((_mtreg & 0x1F) | ((opcode & 0x07) << 5));
                break;
            case >= 0x60 and <= 0x7F:
                _mtreg = (byte)((_mtreg & 0xE0) | (opcode & 0x1F));
                break;
            default:
                // Undefined opcodes are ignored.
                break;
        }
    }

    private TimeSpan MeasurementTime() =>
        ((_mode & 0x03) == 0x03 ? LowResolutionTime : HighResolutionTime) * (_mtreg / (double)DefaultMtreg);

    /// <summary>Completes a measurement whose time is up; continuous modes start the next one.</summary>
    private void Update()
    {
        if (_completesAt is not { } due || Time.GetUtcNow() < due)
        {
            return;
        }

        ChipFault faults = ActiveFaults;
        if ((faults & ChipFault.Stuck) == 0)
        {
            Measurements++;
            _data = (faults & ChipFault.OutOfRange) != 0
                ? ushort.MaxValue
                : Encode(Input(Protocol.Quantities.Illuminance, 300.0), _mtreg, mode2: (_mode & 0x03) == 0x01);
        }

        if ((_mode & 0x20) != 0)
        {
            // One-time modes drop to power down after the measurement.
            _poweredOn = false;
            _completesAt = null;
        }
        else
        {
            _completesAt = Time.GetUtcNow() + MeasurementTime();
        }
    }
}
