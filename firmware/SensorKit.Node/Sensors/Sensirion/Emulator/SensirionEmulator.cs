using SensorKit.Node.Sensors.Sensirion;

namespace SensorKit.Simulation.Emulators.Sensirion;

/// <summary>
/// What Sensirion's I2C chips (SHT3x, SHT4x, SCD4x) have in common: the controller writes a
/// command, optionally followed by 16-bit arguments each with its CRC-8, and then reads the answer
/// as 16-bit words, MSB first, each followed by its CRC-8 (SHT3x datasheet §4.12, SCD4x §3.11).
/// A read with no answer pending, or before the command has finished, is not acknowledged: that is
/// how these chips say "no data" (SHT3x §4.4, SCD4x §3.5.2).
/// </summary>
public abstract class SensirionEmulator : ChipEmulator
{
    private const int MaxWords = 3;

    private readonly byte[] _answer = new byte[MaxWords * SensirionCrc.WordLength];
    private int _answerLength;
    private long _answerReadyAt;

    protected SensirionEmulator(int address, TimeProvider? time)
        : base(address) => Time = time ?? TimeProvider.System;

    /// <summary>The chip's own clock: measurement durations and periods run on it.</summary>
    public TimeProvider Time { get; }

    /// <summary>Reads the controller was refused because nothing was ready; the NACKs a binding would see.</summary>
    public int NotReadyReads { get; private set; }

    /// <summary>Queues the words the next read returns, available once <paramref name="after"/> has passed.</summary>
    protected void Answer(ReadOnlySpan<ushort> words, TimeSpan after = default)
    {
        for (int i = 0; i < words.Length; i++)
        {
            SensirionCrc.WriteWord(_answer.AsSpan(i * SensirionCrc.WordLength), words[i]);
        }

        _answerLength = words.Length * SensirionCrc.WordLength;
        _answerReadyAt = Time.GetTimestamp() + (long)(after.TotalSeconds * Time.TimestampFrequency);
    }

    protected void Answer(ushort word, TimeSpan after = default) => Answer([word], after);

    /// <summary>Drops any pending answer (a new command, a reset).</summary>
    protected void ClearAnswer() => _answerLength = 0;

    protected internal override void OnRead(Span<byte> buffer)
    {
        if (_answerLength == 0 || Time.GetTimestamp() < _answerReadyAt)
        {
            NotReadyReads++;
            throw NotAcknowledged("no data ready to read");
        }

        int n = Math.Min(buffer.Length, _answerLength);
        _answer.AsSpan(0, n).CopyTo(buffer);

        // Past the answer the chip has released SDA, so the controller reads ones.
        buffer[n..].Fill(0xFF);
        if ((ActiveFaults & ChipFault.CorruptCrc) != 0)
        {
            for (int i = SensirionCrc.WordLength - 1; i < n; i += SensirionCrc.WordLength)
            {
                buffer[i] = (byte)~buffer[i];
            }
        }

        // An answer is read once; reading again gives a NACK until the next command.
        _answerLength = 0;
    }

    /// <summary>The IOException the Linux I2C driver raises when the chip does not acknowledge.</summary>
    protected IOException NotAcknowledged(string why) =>
        new($"Error 121 performing I2C data transfer to 0x{Address:x2}: no acknowledge ({why})");

    /// <summary>Reads argument word <paramref name="index"/> after a 16-bit command, checking its CRC as the chip does.</summary>
    protected ushort Argument(ReadOnlySpan<byte> data, int index)
    {
        int at = 2 + (index * SensirionCrc.WordLength);
        if (data.Length < at + SensirionCrc.WordLength)
        {
            throw NotAcknowledged($"command 0x{data[0]:x2}{data[1]:x2} needs argument {index}");
        }

        if (SensirionCrc.Compute(data[at], data[at + 1]) != data[at + 2])
        {
            throw NotAcknowledged($"argument {index} of command 0x{data[0]:x2}{data[1]:x2} has a wrong CRC");
        }

        return (ushort)((data[at] << 8) | data[at + 1]);
    }

    /// <summary>T = −45 + 175·S/(2¹⁶ − 1) inverted (SHT3x §4.13, SHT4x "Conversion of Signal Output").</summary>
    protected static ushort EncodeCelsius(double celsius) => ToWord((celsius + 45.0) * 65535.0 / 175.0);

    protected static ushort ToWord(double raw) => (ushort)Math.Clamp(Math.Round(raw), 0, ushort.MaxValue);
}
