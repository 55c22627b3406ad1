using System.Device.I2c;
using SensorKit.Node.Configuration;
using SensorKit.Node.Scanning;

namespace SensorKit.Node.Sensors;

/// <summary>
/// Reads one chip through its Iot.Device.Bindings driver. The input contract of the node:
/// an adapter returns only fresh, verified values, or throws <see cref="SensorReadException"/>
/// (or the bus's <see cref="IOException"/>); it never hands back a stale value as new.
/// </summary>
public interface ISensorAdapter : IDisposable
{
    /// <summary>Starts a measurement, waits for it, and writes one value per channel (catalog order) in its wire unit.</summary>
    void Read(Span<double> values);
}

/// <summary>A read that reached the chip but gave no trustworthy value (CRC failure, measurement not finished, missing field).</summary>
public sealed class SensorReadException : Exception
{
    public SensorReadException(string message)
        : base(message)
    {
    }

    public SensorReadException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public SensorReadException()
    {
    }
}

/// <summary>One measured quantity of a sensor type, with its wire unit and the chip's measuring range.</summary>
public sealed record ChannelSpec(string Quantity, string Unit, double RangeMin, double RangeMax);

/// <summary>What the node knows about a chip type: addresses, channels, and how to open its driver.</summary>
/// <param name="Channels">The channels, in the order <see cref="ISensorAdapter.Read"/> fills them.</param>
/// <param name="Open">Opens the driver on a bus device, with the sensor's configuration.</param>
public sealed record SensorType(
    string Name,
    string Description,
    IReadOnlyList<int> Addresses,
    IReadOnlyList<ChannelSpec> Channels,
    Func<I2cDevice, SensorOptions, ISensorAdapter> Open)
{
    public int DefaultAddress => Addresses[0];

    /// <summary>Channels that depend on configuration (e.g. an ADC scaled to a water level); defaults to <see cref="Channels"/>.</summary>
    public Func<SensorOptions, IReadOnlyList<ChannelSpec>>? ConfiguredChannels { get; init; }

    /// <summary>Type-specific configuration checks; each error starts with the key below <paramref name="key"/> it is about.</summary>
    public Func<SensorOptions, string, IEnumerable<string>>? Validate { get; init; }

    /// <summary>How a bus scan reads the chip's identity; null for a chip without one, which a scan can only call a candidate at its addresses.</summary>
    public ChipIdentification.Method? Identification { get; init; }

    public IReadOnlyList<ChannelSpec> ChannelsFor(SensorOptions options) => ConfiguredChannels?.Invoke(options) ?? Channels;
}
