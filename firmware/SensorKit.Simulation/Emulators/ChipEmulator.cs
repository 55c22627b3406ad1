namespace SensorKit.Simulation.Emulators;

/// <summary>Faults a chip emulator can be told to show; several may be active at once.</summary>
[Flags]
public enum ChipFault
{
    None = 0,
    /// <summary>Every transfer is not acknowledged: the IOException a missing or broken device gives.</summary>
    Nack = 1,
    /// <summary>The device is unplugged: like NACK, and it loses its configuration (comes back reset).</summary>
    Absent = 2,
    /// <summary>Measurements stop updating: the data registers keep their last values.</summary>
    Stuck = 4,
    /// <summary>Checksums are corrupted on chips that send them (Sensirion CRC-8).</summary>
    CorruptCrc = 8,
    /// <summary>Raw values outside the measuring range are encoded.</summary>
    OutOfRange = 16,
    /// <summary>The device stretches the clock past the controller's timeout: transfers fail slowly.</summary>
    Slow = 32,
}

/// <summary>
/// The register map or command set of one chip, driven through <see cref="EmulatedI2cDevice"/>
/// by the real binding. Physical inputs (°C, %RH, Pa …) are set directly or driven by a scenario
/// signal; the emulator encodes them into raw registers the way the chip would.
/// </summary>
public abstract class ChipEmulator
{
    private readonly Dictionary<string, Func<double>> _inputs = new(StringComparer.Ordinal);
    private bool _wasAbsent;

    protected ChipEmulator(int address) => Address = address;

    public int Address { get; }

    /// <summary>Faults set by a test or the demo.</summary>
    public ChipFault Faults { get; set; }

    /// <summary>Faults from a scenario schedule, evaluated at each transfer.</summary>
    public Func<ChipFault>? ScheduledFaults { get; set; }

    /// <summary>How long a <see cref="ChipFault.Slow"/> transfer takes before it times out.</summary>
    public TimeSpan SlowTransfer { get; set; } = TimeSpan.FromMilliseconds(30);

    /// <summary>Physical quantities this chip measures, by wire quantity name.</summary>
    public abstract IReadOnlyList<string> Quantities { get; }

    /// <summary>Transfers the chip has answered; lets tests see that a driver really talked to it.</summary>
    public long Transfers { get; private set; }

    internal Lock Sync { get; } = new();

    public ChipFault ActiveFaults => Faults | (ScheduledFaults?.Invoke() ?? ChipFault.None);

    public void Set(string quantity, double value) => Drive(quantity, () => value);

    public void Drive(string quantity, Func<double> signal)
    {
        if (!Quantities.Contains(quantity))
        {
            throw new ArgumentException($"{GetType().Name} has no quantity '{quantity}' (has: {string.Join(", ", Quantities)})", nameof(quantity));
        }

        lock (Sync)
        {
            _inputs[quantity] = signal;
        }
    }

    protected double Input(string quantity, double fallback) =>
        _inputs.TryGetValue(quantity, out Func<double>? f) ? f() : fallback;

    /// <summary>Called under <see cref="Sync"/> with the bytes the controller wrote.</summary>
    protected internal abstract void OnWrite(ReadOnlySpan<byte> data);

    /// <summary>Called under <see cref="Sync"/> to fill the bytes the controller reads.</summary>
    protected internal abstract void OnRead(Span<byte> buffer);

    /// <summary>Back to power-on state, as after an unplug.</summary>
    protected abstract void PowerOnReset();

    /// <summary>Applies NACK/absent/slow faults; throws as the Linux I2C driver would.</summary>
    internal void BeginTransfer()
    {
        ChipFault faults = ActiveFaults;
        if ((faults & ChipFault.Absent) != 0)
        {
            _wasAbsent = true;
        }
        else if (_wasAbsent)
        {
            _wasAbsent = false;
            PowerOnReset();
        }

        if ((faults & ChipFault.Slow) != 0)
        {
            Thread.Sleep(SlowTransfer);
            throw new IOException($"I2C transfer to 0x{Address:x2} timed out (ETIMEDOUT)");
        }

        if ((faults & (ChipFault.Nack | ChipFault.Absent)) != 0)
        {
            // What /dev/i2c-N reports when nobody acknowledges the address: EREMOTEIO (121).
            throw new IOException($"Error 121 performing I2C data transfer to 0x{Address:x2}: no acknowledge");
        }

        Transfers++;
    }
}
