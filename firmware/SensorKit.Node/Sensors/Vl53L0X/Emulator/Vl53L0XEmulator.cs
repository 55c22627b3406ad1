using SensorKit.Node.Sensors.Vl53L0X;

namespace SensorKit.Simulation.Emulators.Vl53L0X;

/// <summary>
/// Register-level VL53L0X, as far as ST's initialisation sequence (which the binding replays) and
/// single or continuous ranging need. ST documents only a few registers (datasheet DocID029104
/// §3.2, reference registers); the rest follows ST's API, which the binding ports.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A write's first byte is the register index, later bytes go to consecutive registers; a one-byte write sets the index; reads auto-increment.</item>
/// <item>Register 0xFF selects a page; the binding switches to pages 1, 6 and 7 during initialisation. Ranging lives on page 0.</item>
/// <item>Page 0, SYSRANGE_START (0x00): bit 0 starts a ranging and reads 1 until it is done; then RESULT_INTERRUPT_STATUS (0x13) reads "new sample ready" and the range in millimetres sits at 0x1E–0x1F, big-endian, until SYSTEM_INTERRUPT_CLEAR (0x0B) is written.</item>
/// <item>With SYSTEM_SEQUENCE_CONFIG (0x01) at 0x01 or 0x02 a start runs the VHV or phase reference calibration instead: it completes, but measures nothing.</item>
/// <item>Page 7: writing an NVM index to 0x94 and 0x00 to 0x83 strobes a 32-bit NVM word into 0x90–0x93; 0x83 then reads non-zero.</item>
/// <item>The time a ranging takes (about 33 ms) is modelled as status reads (<see cref="BusyPolls"/>), not wall time.</item>
/// </list>
/// Beyond <see cref="MaxRange"/>, or with <see cref="ChipFault.OutOfRange"/>, the range reads 8190, as the chip reports "no target".
/// </remarks>
[SensorEmulator(Vl53L0XSensor.Name)]
public sealed class Vl53L0XEmulator : ChipEmulator
{
    /// <summary>What the range register holds when no target was seen.</summary>
    public const ushort NoTarget = 8190;

    private const byte RegSysRangeStart = 0x00;
    private const byte RegSequenceConfig = 0x01;
    private const byte RegInterruptClear = 0x0B;
    private const byte RegInterruptStatus = 0x13;
    private const byte RegRangeStatus = 0x14;
    private const byte RegRangeMm = RegRangeStatus + 10;
    private const byte RegPageSelect = 0xFF;
    private const byte RegNvmData = 0x90;
    private const byte RegNvmIndex = 0x94;
    private const byte RegStrobe = 0x83;

    private static readonly string[] QuantityNames = [Protocol.Quantities.Distance];

    // One register file per page, created when the controller first selects the page.
    private readonly byte[]?[] _pages = new byte[256][];
    private byte _page;
    private byte _pointer;
    private int _pollsLeft = -1;
    private bool _calibrating;
    private bool _continuous;

    public Vl53L0XEmulator(int address = 0x29)
        : base(address) => PowerOnReset();

    public override IReadOnlyList<string> Quantities => QuantityNames;

    /// <summary>Status reads during which a ranging is still in progress.</summary>
    public int BusyPolls { get; set; } = 1;

    /// <summary>Farthest target the chip sees; beyond it the range reads <see cref="NoTarget"/>.</summary>
    public double MaxRange { get; set; } = 2.0;

    /// <summary>When true, rangings never finish: the binding's timeout path.</summary>
    public bool NeverReady { get; set; }

    /// <summary>Rangings that wrote a new range (reference calibrations excluded).</summary>
    public int Rangings { get; private set; }

    /// <summary>Reference calibrations run (the binding runs two at initialisation and one per VCSEL period change).</summary>
    public int Calibrations { get; private set; }

    /// <summary>Reads a register on a page without a bus transfer (tests).</summary>
    public byte Peek(byte register, byte page = 0)
    {
        lock (Sync)
        {
            return Page(page)[register];
        }
    }

    protected internal override void OnWrite(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0)
        {
            return;
        }

        _pointer = data[0];
        for (int i = 1; i < data.Length; i++)
        {
            WriteRegister(_pointer, data[i]);
            _pointer++;
        }
    }

    protected internal override void OnRead(Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = ReadRegister(_pointer);
            _pointer++;
        }
    }

    protected override void PowerOnReset()
    {
        Array.Clear(_pages);
        _page = 0;
        _pointer = 0;
        _pollsLeft = -1;
        _calibrating = false;
        _continuous = false;
        byte[] p0 = Page(0);

        // Reference registers, datasheet §3.2: model id, module type, revision, and two 16-bit values.
        p0[0xC0] = 0xEE;
        p0[0xC1] = 0xAA;
        p0[0xC2] = 0x10;
        p0[0x51] = 0x00;
        p0[0x52] = 0x99;
        p0[0x61] = 0x00;
        p0[0x62] = 0x00;

        // Timing registers the binding reads before it writes them, at ST's defaults: sequence steps
        // all on, pre-range VCSEL 14 PCLK, final range VCSEL 10 PCLK, MSRC and final-range timeouts.
        p0[RegSequenceConfig] = 0xFF;
        p0[0x50] = 0x06;
        p0[0x70] = 0x04;
        p0[0x46] = 0x0C;
        p0[0x71] = 0x02;
        p0[0x72] = 0x95;
        p0[0xF8] = 0x00;
        p0[0xF9] = 0x00;

        // Reference SPAD map, all enabled until the initialisation picks its count.
        p0.AsSpan(0xB0, 6).Fill(0xFF);

        // No measurement yet: the range register holds "no target".
        WriteRange(NoTarget, deviceStatus: 0);
    }

    private byte[] Page(byte page) => _pages[page] ??= new byte[256];

    private void WriteRegister(byte register, byte value)
    {
        if (register == RegPageSelect)
        {
            _page = value;
            return;
        }

        byte[] regs = Page(_page);
        if (_page == 7 && register == RegStrobe && value == 0)
        {
            // NVM strobe: the word appears at 0x90-0x93 and 0x83 reads non-zero once it has.
            LoadNvmWord(regs, regs[RegNvmIndex]);
            regs[RegStrobe] = 0x01;
            return;
        }

        if (_page != 0)
        {
            regs[register] = value;
            return;
        }

        switch (register)
        {
            case RegSysRangeStart:
                StartOrStop(regs, value);
                break;
            case RegInterruptClear:
                if ((value & 0x07) != 0)
                {
                    regs[RegInterruptStatus] = 0;
                }

                break;
            case RegInterruptStatus:
            case >= RegRangeStatus and <= RegRangeStatus + 11:
            case 0xC0 or 0xC1 or 0xC2:
                // Read-only results and identification.
                break;
            default:
                regs[register] = value;
                break;
        }
    }

    private byte ReadRegister(byte register)
    {
        byte[] regs = Page(_page);
        if (_page == 0 && register is RegSysRangeStart or RegInterruptStatus)
        {
            Poll(regs);
        }

        return regs[register];
    }

    private void StartOrStop(byte[] regs, byte value)
    {
        if ((value & 0x03) == 0)
        {
            // Stop.
            _continuous = false;
            _pollsLeft = -1;
            regs[RegSysRangeStart] = 0;
            return;
        }

        _continuous = (value & 0x02) != 0;
        _calibrating = regs[RegSequenceConfig] is 0x01 or 0x02;
        regs[RegSysRangeStart] = (byte)(value & 0x01);
        _pollsLeft = BusyPolls;
    }

    private void Poll(byte[] regs)
    {
        if (_pollsLeft < 0 || NeverReady)
        {
            return;
        }

        if (_pollsLeft > 0)
        {
            _pollsLeft--;
            return;
        }

        Complete(regs);
        _pollsLeft = _continuous ? BusyPolls : -1;
    }

    private void Complete(byte[] regs)
    {
        // Single shot: the start bit clears; either way the interrupt reports a new sample (GPIO function 4).
        regs[RegSysRangeStart] = 0;
        regs[RegInterruptStatus] = 0x04;
        if (_calibrating)
        {
            Calibrations++;
            return;
        }

        ChipFault faults = ActiveFaults;
        if ((faults & ChipFault.Stuck) != 0)
        {
            return;
        }

        Rangings++;
        double metres = Input(Protocol.Quantities.Distance, 1.0);
        bool seen = (faults & ChipFault.OutOfRange) == 0 && metres >= 0 && metres <= MaxRange;
        // Device range status 11 is a valid range; the binding does not read it.
        WriteRange(seen ? (ushort)Math.Round(metres * 1000) : NoTarget, deviceStatus: seen ? (byte)11 : (byte)4);
    }

    private void WriteRange(ushort millimetres, byte deviceStatus)
    {
        byte[] p0 = Page(0);
        p0[RegRangeStatus] = (byte)(deviceStatus << 3);
        p0[RegRangeMm] = (byte)(millimetres >> 8);
        p0[RegRangeMm + 1] = (byte)millimetres;
    }

    private static void LoadNvmWord(byte[] regs, byte index)
    {
        // Only the SPAD word 0x6B matters to the binding: the byte it reads at 0x92 holds the
        // reference SPAD count (bits 6..0) and type (bit 7: aperture). Here 5 aperture SPADs.
        // Identification words (module, part and product id) read as zero.
        uint word = index == 0x6B ? 0x0000_8500u : 0u;
        regs[RegNvmData] = (byte)(word >> 24);
        regs[RegNvmData + 1] = (byte)(word >> 16);
        regs[RegNvmData + 2] = (byte)(word >> 8);
        regs[RegNvmData + 3] = (byte)word;
    }
}
