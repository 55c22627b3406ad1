using System.Device.I2c;

namespace SensorKit.Simulation.Emulators;

/// <summary>
/// The <see cref="I2cDevice"/> a binding receives in simulation: every transfer reaches the chip
/// emulator's registers, so the binding's own protocol and decoding run unchanged. Allocation-free
/// per transfer. Disposing it (as bindings do) leaves the emulated chip in place, like unplugging a cable end.
/// </summary>
public sealed class EmulatedI2cDevice(ChipEmulator chip, I2cConnectionSettings settings) : I2cDevice
{
    public override I2cConnectionSettings ConnectionSettings => settings;

    public ChipEmulator Chip => chip;

    public override void Read(Span<byte> buffer)
    {
        lock (chip.Sync)
        {
            chip.BeginTransfer();
            chip.OnRead(buffer);
        }
    }

    public override byte ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        Read(one);
        return one[0];
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (chip.Sync)
        {
            chip.BeginTransfer();
            chip.OnWrite(buffer);
        }
    }

    public override void WriteByte(byte value)
    {
        ReadOnlySpan<byte> one = [value];
        Write(one);
    }

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        lock (chip.Sync)
        {
            // A repeated-start transaction: one NACK check, then write and read.
            chip.BeginTransfer();
            chip.OnWrite(writeBuffer);
            chip.OnRead(readBuffer);
        }
    }
}
