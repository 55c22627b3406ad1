namespace SensorKit.Node.Sensors.Ina219;

/// <summary>The INA219's entry in <see cref="SensorCatalog"/>. It has no identity register: a scan can only say "could be" at its addresses.</summary>
public static class Ina219Sensor
{
    public const string Name = "ina219";

    public static SensorType Type { get; } = new(
        Name,
        "TI INA219: supply voltage, current and power of the node (battery, solar)",
        // A0 and A1 each to GND, VS, SDA or SCL: 16 addresses from 0x40 (datasheet SBOS448G §8.5.5.1).
        [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F],
        Ina219Adapter.DefaultChannels,
        (device, options) => new Ina219Adapter(device, options))
    {
        ConfiguredChannels = Ina219Adapter.ChannelsFor,
        Validate = Ina219Adapter.Validate,
    };
}
