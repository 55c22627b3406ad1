using System.Device.I2c;
using SensorKit.Node.Sensors;

namespace SensorKit.Node.Scanning;

/// <summary>What a device at an address said about itself.</summary>
/// <param name="Chip">The chip it identified as (e.g. "bme280", "bmp280"); null when it gave no recognisable identity.</param>
/// <param name="Detail">What was read, e.g. "chip id 0x60 at 0xD0".</param>
/// <param name="ReadFailed">The identity could not be read reliably (CRC error, bus error after the address was acknowledged).</param>
public readonly record struct ChipIdentity(string? Chip, string Detail, bool ReadFailed = false);

/// <summary>
/// Reads a chip's identity without changing its configuration: only register-pointer writes and
/// read-only commands. Each method throws <see cref="IOException"/> when nobody acknowledges.
/// </summary>
public static class ChipIdentification
{
    /// <summary>One way of asking "who are you", the addresses it applies to, and the chips it can tell apart.</summary>
    public sealed record Method(string Name, IReadOnlyList<int> Addresses, IReadOnlyList<string> Recognises, Func<I2cDevice, TimeProvider, CancellationToken, Task<ChipIdentity>> Identify);

    /// <summary>The identity reads of <see cref="SensorCatalog.All"/>, each once, in the catalog's order: the order a scan tries them in.</summary>
    public static IReadOnlyList<Method> Methods { get; } = [.. SensorCatalog.All.Select(t => t.Identification).OfType<Method>().Distinct()];

    /// <summary>Chips without an identity register or command, by the addresses their straps allow. A scan can only say "could be".</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<int>> AddressOnlyChips { get; } =
        SensorCatalog.All.Where(t => t.Identification is null).ToDictionary(t => t.Name, t => t.Addresses);
}
