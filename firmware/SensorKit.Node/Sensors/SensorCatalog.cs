using SensorKit.Node.Sensors.Ads1115;
using SensorKit.Node.Sensors.Bh1750;
using SensorKit.Node.Sensors.Bme280;
using SensorKit.Node.Sensors.Bme680;
using SensorKit.Node.Sensors.Ina219;
using SensorKit.Node.Sensors.Scd4x;
using SensorKit.Node.Sensors.Sht3x;
using SensorKit.Node.Sensors.Sht4x;
using SensorKit.Node.Sensors.Vl53L0X;

namespace SensorKit.Node.Sensors;

/// <summary>
/// The sensor types a node can be configured with. Names are lower case and are the "Type" in configuration.
/// Each type lives in its own folder (adapter, registration, emulator, README, sample configuration) and is
/// registered here once (docs/architecture-sensors.md).
/// </summary>
public static class SensorCatalog
{
    /// <summary>
    /// Also the order in which a bus scan tries identity reads where addresses overlap: the SHT4x before the SHT3x,
    /// since a one-byte SHT4x command is only half an SHT3x command and changes nothing there.
    /// </summary>
    public static IReadOnlyList<SensorType> All { get; } =
    [
        Bme280Sensor.Type,
        Bme680Sensor.Type,
        Vl53L0XSensor.Type,
        Sht4xSensor.Type,
        Sht3xSensor.Type,
        Scd4xSensor.Type,
        Ads1115Sensor.Type,
        Ina219Sensor.Type,
        Bh1750Sensor.Type,
    ];

    private static readonly Dictionary<string, SensorType> Types = All.ToDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);

    public static IEnumerable<string> Names => Types.Keys.Order(StringComparer.Ordinal);

    public static bool TryGet(string name, out SensorType type) => Types.TryGetValue(name, out type!);

    public static SensorType Get(string name) =>
        Types.TryGetValue(name, out SensorType? t) ? t : throw new KeyNotFoundException($"unknown sensor type '{name}'");
}
