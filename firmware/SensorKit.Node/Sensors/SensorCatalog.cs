using SensorKit.Node.Sensors.Bme280;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors;

/// <summary>The sensor types a node can be configured with. Names are lower case and are the "Type" in configuration.</summary>
public static class SensorCatalog
{
    private static readonly Dictionary<string, SensorType> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        ["bme280"] = new SensorType(
            "bme280",
            "Bosch BME280: temperature, relative humidity, barometric pressure",
            [0x76, 0x77],
            [
                // Operating range, BME280 datasheet §1 (Table 1 and 2).
                new ChannelSpec(Quantities.Temperature, Units.Celsius, -40, 85),
                new ChannelSpec(Quantities.Humidity, Units.RelativeHumidityPercent, 0, 100),
                new ChannelSpec(Quantities.Pressure, Units.Pascal, 30_000, 110_000),
            ],
            (device, _) => new Bme280Adapter(device)),
    };

    public static IEnumerable<string> Names => Types.Keys.Order(StringComparer.Ordinal);

    public static bool TryGet(string name, out SensorType type) => Types.TryGetValue(name, out type!);

    public static SensorType Get(string name) =>
        Types.TryGetValue(name, out SensorType? t) ? t : throw new KeyNotFoundException($"unknown sensor type '{name}'");
}
