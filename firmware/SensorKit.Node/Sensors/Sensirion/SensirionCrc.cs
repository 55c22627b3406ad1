namespace SensorKit.Node.Sensors.Sensirion;

/// <summary>
/// The CRC-8 that Sensirion chips append to every 16-bit word: polynomial 0x31 (x⁸ + x⁵ + x⁴ + 1),
/// initial value 0xFF, no reflection, no final XOR; CRC(0xBEEF) = 0x92. Sources: SHT3x-DIS datasheet
/// §4.12 "Checksum Calculation", Table 20; SHT4x datasheet, "Checksum Calculation" (same table and
/// example); SCD4x datasheet §3.11 "Checksum Calculation". One implementation for the adapters' CRC
/// check, the bus scan's identity reads and the chip emulators.
/// </summary>
public static class SensirionCrc
{
    public const byte Polynomial = 0x31;
    public const byte Initial = 0xFF;

    /// <summary>Bytes per word on the wire: two data bytes, MSB first, then their CRC.</summary>
    public const int WordLength = 3;

    public static byte Compute(byte msb, byte lsb)
    {
        byte crc = Initial;
        crc = Step(crc, msb);
        return Step(crc, lsb);
    }

    public static byte Compute(ushort word) => Compute((byte)(word >> 8), (byte)word);

    /// <summary>The CRC over any number of bytes; the chips only ever protect two.</summary>
    public static byte Compute(ReadOnlySpan<byte> data)
    {
        byte crc = Initial;
        foreach (byte b in data)
        {
            crc = Step(crc, b);
        }

        return crc;
    }

    /// <summary>True when every whole 3-byte group (word, CRC) of <paramref name="reply"/> checks out.</summary>
    public static bool Check(ReadOnlySpan<byte> reply)
    {
        for (int i = 0; i + WordLength <= reply.Length; i += WordLength)
        {
            if (Compute(reply[i], reply[i + 1]) != reply[i + 2])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes <paramref name="word"/> MSB first with its CRC into the first three bytes of <paramref name="target"/>.</summary>
    public static void WriteWord(Span<byte> target, ushort word)
    {
        target[0] = (byte)(word >> 8);
        target[1] = (byte)word;
        target[2] = Compute(word);
    }

    private static byte Step(byte crc, byte data)
    {
        crc ^= data;
        for (int bit = 0; bit < 8; bit++)
        {
            crc = (crc & 0x80) != 0 ? (byte)((crc << 1) ^ Polynomial) : (byte)(crc << 1);
        }

        return crc;
    }
}
