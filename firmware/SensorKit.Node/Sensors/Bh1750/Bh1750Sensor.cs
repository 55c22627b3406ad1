namespace SensorKit.Node.Sensors.Bh1750;

/// <summary>The BH1750's entry in <see cref="SensorCatalog"/>. It has no identity register: a scan can only say "could be" at its addresses.</summary>
public static class Bh1750Sensor
{
    public const string Name = "bh1750";

    public static SensorType Type { get; } = new(
        Name,
        "ROHM BH1750FVI: illuminance (daylight, darkness under smoke or storm clouds)",
        // BH1750FVI datasheet: ADDR low 0x23, ADDR high 0x5C.
        [0x23, 0x5C],
        Bh1750Adapter.Channels,
        (device, _) => new Bh1750Adapter(device));
}
