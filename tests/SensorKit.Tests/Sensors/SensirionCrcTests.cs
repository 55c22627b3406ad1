using SensorKit.Node.Sensors.Sensirion;

namespace SensorKit.Tests.Sensors;

/// <summary>The one Sensirion CRC-8 (adapters, bus scan, emulators) against the datasheets' worked examples.</summary>
public sealed class SensirionCrcTests
{
    public static TheoryData<ushort, byte> DatasheetExamples => new()
    {
        // SHT3x-DIS datasheet §4.12 Table 20, repeated in the SHT4x and SCD4x datasheets' checksum sections.
        { 0xBEEF, 0x92 },
        // SCD4x datasheet, set_temperature_offset example: 5.4 °C is written as 0x07E6 with CRC 0x48.
        { 0x07E6, 0x48 },
        // SCD4x datasheet, get_serial_number example response: 0xF896 0x31, 0x9F07 0xC2, 0x3BBE 0x89.
        { 0xF896, 0x31 },
        { 0x9F07, 0xC2 },
        { 0x3BBE, 0x89 },
    };

    [Theory]
    [MemberData(nameof(DatasheetExamples))]
    public void Every_form_gives_the_datasheet_checksum(ushort word, byte crc)
    {
        byte msb = (byte)(word >> 8);
        byte lsb = (byte)word;
        Assert.Equal(crc, SensirionCrc.Compute(word));
        Assert.Equal(crc, SensirionCrc.Compute(msb, lsb));
        Assert.Equal(crc, SensirionCrc.Compute([msb, lsb]));

        Span<byte> frame = stackalloc byte[SensirionCrc.WordLength];
        SensirionCrc.WriteWord(frame, word);
        Assert.Equal(new[] { msb, lsb, crc }, frame.ToArray());
    }

    [Fact]
    public void Check_accepts_the_datasheet_reply_and_refuses_any_flipped_bit()
    {
        byte[] serial = [0xF8, 0x96, 0x31, 0x9F, 0x07, 0xC2, 0x3B, 0xBE, 0x89];
        Assert.True(SensirionCrc.Check(serial));
        for (int bit = 0; bit < serial.Length * 8; bit++)
        {
            byte[] corrupted = [.. serial];
            corrupted[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(SensirionCrc.Check(corrupted), $"bit {bit} flipped and still accepted");
        }
    }

    [Fact]
    public void The_parameters_are_those_of_the_datasheets()
    {
        Assert.Equal(0x31, SensirionCrc.Polynomial);
        Assert.Equal(0xFF, SensirionCrc.Initial);
        // No final XOR: the CRC of 0x0000 is the initial value run through the polynomial, 0x81.
        Assert.Equal(0x81, SensirionCrc.Compute(0x0000));
    }
}
