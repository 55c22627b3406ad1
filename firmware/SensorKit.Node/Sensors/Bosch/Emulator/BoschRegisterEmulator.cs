namespace SensorKit.Simulation.Emulators.Bosch;

/// <summary>
/// The I2C register interface the BME280 and the BME680 share (BME280 datasheet BST-BME280-DS002 §6.2,
/// BME680 datasheet BST-BME680-DS001 §6.2): a single written byte sets the register pointer; a longer write is
/// (register, value) pairs, each register addressed explicitly, since writes do not auto-increment (§6.2.1);
/// reads start at the pointer and auto-increment (§6.2.2).
/// </summary>
public abstract class BoschRegisterEmulator(int address) : ChipEmulator(address)
{
    private byte _pointer;

    /// <summary>The 256-byte register map as the controller reads it.</summary>
    protected byte[] Registers { get; } = new byte[256];

    protected internal sealed override void OnWrite(ReadOnlySpan<byte> data)
    {
        OnTransfer();
        if (data.Length == 1)
        {
            _pointer = data[0];
            return;
        }

        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            WriteRegister(data[i], data[i + 1]);
        }
    }

    protected internal sealed override void OnRead(Span<byte> buffer)
    {
        OnTransfer();
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = Registers[_pointer];
            _pointer++;
        }
    }

    /// <summary>Called before each write and read, e.g. to finish a measurement whose time has come.</summary>
    protected virtual void OnTransfer()
    {
    }

    /// <summary>One (register, value) pair of a write; the chip decides what a write to each register does.</summary>
    protected abstract void WriteRegister(byte register, byte value);

    /// <summary>A 16-bit calibration word, LSB at <paramref name="register"/> as Bosch stores them.</summary>
    protected void WriteLe(int register, ushort value)
    {
        Registers[register] = (byte)value;
        Registers[register + 1] = (byte)(value >> 8);
    }

    /// <summary>A 20-bit ADC result as msb, lsb and xlsb, bits 3..0 in the top nibble of xlsb (BME280 Table 18, BME680 §5.3.4).</summary>
    protected void WriteAdc20(int register, int value)
    {
        Registers[register] = (byte)(value >> 12);
        Registers[register + 1] = (byte)(value >> 4);
        Registers[register + 2] = (byte)((value & 0x0F) << 4);
    }

    /// <summary>A 16-bit ADC result, MSB first (the humidity registers).</summary>
    protected void WriteAdc16(int register, int value)
    {
        Registers[register] = (byte)(value >> 8);
        Registers[register + 1] = (byte)value;
    }
}
