using System.Device.I2c;

namespace SensorKit.Node.Sensors.Sensirion;

/// <summary>
/// Wraps the bus device a Sensirion binding talks through and checks the CRC of every word it
/// reads. The bindings handle a bad CRC in ways that hide it: <c>Sht3x</c> keeps the previous value
/// and reports nothing, <c>Sht4x</c> and <c>Scd4x</c> return null, and <c>Scd4x</c> takes a corrupted
/// data-ready word for "not ready" and polls for 6 s. Throwing here, inside the binding's call,
/// turns each of these into an immediate <see cref="SensorReadException"/> that names the word.
/// </summary>
public sealed class CrcCheckedDevice(I2cDevice inner) : I2cDevice
{
    private readonly I2cDevice _inner = inner;

    public override I2cConnectionSettings ConnectionSettings => _inner.ConnectionSettings;

    /// <summary>Words whose CRC matched; adapters compare it before and after a binding call to see that data really came off the bus.</summary>
    public long VerifiedWords { get; private set; }

    /// <summary>Words whose CRC did not match.</summary>
    public long CrcFailures { get; private set; }

    public override void Read(Span<byte> buffer)
    {
        _inner.Read(buffer);
        Verify(buffer);
    }

    public override byte ReadByte()
    {
        // A single byte cannot carry a CRC; Read rejects it rather than letting it through unchecked.
        Span<byte> one = stackalloc byte[1];
        Read(one);
        return one[0];
    }

    public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);

    public override void WriteByte(byte value) => _inner.WriteByte(value);

    public override void WriteRead(ReadOnlySpan<byte> writeBuffer, Span<byte> readBuffer)
    {
        _inner.WriteRead(writeBuffer, readBuffer);
        Verify(readBuffer);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Verify(ReadOnlySpan<byte> data)
    {
        if (data.Length % SensirionCrc.WordLength != 0)
        {
            throw new SensorReadException(
                $"read of {data.Length} bytes from 0x{_inner.ConnectionSettings.DeviceAddress:x2} is not a whole number of CRC-protected words");
        }

        for (int i = 0; i < data.Length; i += SensirionCrc.WordLength)
        {
            byte expected = SensirionCrc.Compute(data[i], data[i + 1]);
            if (data[i + 2] != expected)
            {
                CrcFailures++;
                throw new SensorReadException(
                    $"CRC mismatch in word {i / SensirionCrc.WordLength} (0x{data[i]:x2}{data[i + 1]:x2}) from 0x{_inner.ConnectionSettings.DeviceAddress:x2}: " +
                    $"got 0x{data[i + 2]:x2}, expected 0x{expected:x2}");
            }

            VerifiedWords++;
        }
    }
}
