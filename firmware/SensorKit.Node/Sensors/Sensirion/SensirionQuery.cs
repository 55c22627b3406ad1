using System.Device.I2c;
using SensorKit.Node.Scanning;

namespace SensorKit.Node.Sensors.Sensirion;

/// <summary>How a bus scan asks a Sensirion chip who it is: a read-only command, its execution time, then CRC-protected words.</summary>
internal static class SensirionQuery
{
    /// <summary>The reply of <paramref name="words"/> words with their CRCs; null when one fails its CRC.</summary>
    public static async Task<byte[]?> ReadAsync(I2cDevice device, byte[] command, TimeSpan duration, int words, TimeProvider time, CancellationToken ct)
    {
        device.Write(command);
        await Task.Delay(duration, time, ct);
        byte[] reply = new byte[words * SensirionCrc.WordLength];
        device.Read(reply);
        return SensirionCrc.Check(reply) ? reply : null;
    }

    public static ChipIdentity CrcFailure(string command) =>
        new(null, $"the reply to the {command} command fails its CRC check (noise on the bus, or another chip)", ReadFailed: true);
}
