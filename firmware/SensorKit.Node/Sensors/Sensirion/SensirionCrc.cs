namespace SensorKit.Node.Sensors.Sensirion;

/// <summary>
/// The CRC-8 that Sensirion chips append to every 16-bit word: polynomial 0x31 (x⁸ + x⁵ + x⁴ + 1),
/// initial value 0xFF, no reflection, no final XOR; CRC(0xBEEF) = 0x92 (SHT3x datasheet §4.12,
/// Table 20; the same in the SHT4x and SCD4x datasheets).
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
