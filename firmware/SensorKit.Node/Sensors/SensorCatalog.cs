using SensorKit.Node.Sensors.Ads1115;
using SensorKit.Node.Sensors.Bh1750;
using SensorKit.Node.Sensors.Bme280;
using SensorKit.Node.Sensors.Ina219;
using SensorKit.Node.Sensors.Vl53L0X;
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
        ["ads1115"] = new SensorType(
            "ads1115",
            "TI ADS1115: 16-bit ADC for analogue sensors (pressure transducers, float switches, rain gauges), optionally scaled",
            // ADDR strapped to GND, VDD, SDA or SCL (datasheet, "I2C Address Selection").
            [0x48, 0x49, 0x4A, 0x4B],
            [new ChannelSpec(Quantities.Voltage, Units.Volt, -Ads1115Adapter.DefaultFullScale, Ads1115Adapter.DefaultFullScale)],
            (device, options) => new Ads1115Adapter(device, options))
        {
            ConfiguredChannels = Ads1115Adapter.ChannelsFor,
            Validate = Ads1115Adapter.Validate,
        },
        ["vl53l0x"] = new SensorType(
            "vl53l0x",
            "ST VL53L0X: time-of-flight distance to the water surface, and water level below a known mounting height",
            // 0x29 after power-up; the address can be changed in software only, and is lost on reset.
            [0x29],
            [new ChannelSpec(Quantities.Distance, Units.Metre, 0, Vl53L0XAdapter.MaxRangeMetres)],
            (device, options) => new Vl53L0XAdapter(device, options))
        {
            ConfiguredChannels = Vl53L0XAdapter.ChannelsFor,
            Validate = Vl53L0XAdapter.Validate,
        },
        ["ina219"] = new SensorType(
            "ina219",
            "TI INA219: supply voltage, current and power of the node (battery, solar)",
            // A0 and A1 each to GND, VS, SDA or SCL: 16 addresses from 0x40 (datasheet SBOS448G §8.5.5.1).
            [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F],
            Ina219Adapter.DefaultChannels,
            (device, options) => new Ina219Adapter(device, options))
        {
            ConfiguredChannels = Ina219Adapter.ChannelsFor,
            Validate = Ina219Adapter.Validate,
        },
        ["bh1750"] = new SensorType(
            "bh1750",
            "ROHM BH1750FVI: illuminance (daylight, darkness under smoke or storm clouds)",
            // ADDR low 0x23, high 0x5C.
            [0x23, 0x5C],
            Bh1750Adapter.Channels,
            (device, _) => new Bh1750Adapter(device)),
    };

    public static IEnumerable<string> Names => Types.Keys.Order(StringComparer.Ordinal);

    public static bool TryGet(string name, out SensorType type) => Types.TryGetValue(name, out type!);

    public static SensorType Get(string name) =>
        Types.TryGetValue(name, out SensorType? t) ? t : throw new KeyNotFoundException($"unknown sensor type '{name}'");
}
