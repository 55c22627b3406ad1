using SensorKit.Node.Sensors.Ads1115;
using SensorKit.Node.Sensors.Bh1750;
using SensorKit.Node.Sensors.Bme280;
using SensorKit.Node.Sensors.Bme680;
using SensorKit.Node.Sensors.Ina219;
using SensorKit.Node.Sensors.Scd4x;
using SensorKit.Node.Sensors.Sht3x;
using SensorKit.Node.Sensors.Sht4x;
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
        ["bme680"] = new SensorType(
            "bme680",
            "Bosch BME680: temperature, relative humidity, barometric pressure, gas resistance (smoke, VOCs)",
            // 0x76 with SDO to GND; unlike the BME280 binding, Bme680.DefaultI2cAddress is 0x76.
            [0x76, 0x77],
            [
                // Operating range, BME680 datasheet BST-BME680-DS001, specification tables.
                new ChannelSpec(Quantities.Temperature, Units.Celsius, -40, 85),
                new ChannelSpec(Quantities.Humidity, Units.RelativeHumidityPercent, 0, 100),
                new ChannelSpec(Quantities.Pressure, Units.Pascal, 30_000, 110_000),
                // What the 10-bit gas ADC over gas ranges 0-15 can express (§3.4.1 formula, range_sw_err 0):
                // about 177 Ω at range 15, code 1023, to 12.9 MΩ at range 0, code 0.
                new ChannelSpec(Quantities.GasResistance, Units.Ohm, 170, 13_000_000),
            ],
            (device, _) => new Bme680Adapter(device)),
        ["sht3x"] = new SensorType(
            "sht3x",
            "Sensirion SHT30/SHT31/SHT35: temperature, relative humidity",
            // ADDR pin low / high.
            [0x44, 0x45],
            [
                // Specified range, SHT3x-DIS datasheet, sensor performance tables.
                new ChannelSpec(Quantities.Temperature, Units.Celsius, -40, 125),
                new ChannelSpec(Quantities.Humidity, Units.RelativeHumidityPercent, 0, 100),
            ],
            (device, _) => new Sht3xAdapter(device)),
        ["sht4x"] = new SensorType(
            "sht4x",
            "Sensirion SHT40/SHT41/SHT45: temperature, relative humidity",
            // Fixed per part number: SHT4x-A… at 0x44 (most breakouts), -B… at 0x45, -C… at 0x46.
            [0x44, 0x45, 0x46],
            [
                // Specified range, SHT4x datasheet, sensor performance tables.
                new ChannelSpec(Quantities.Temperature, Units.Celsius, -40, 125),
                new ChannelSpec(Quantities.Humidity, Units.RelativeHumidityPercent, 0, 100),
            ],
            (device, _) => new Sht4xAdapter(device)),
        ["scd4x"] = new SensorType(
            "scd4x",
            "Sensirion SCD40/SCD41: CO2 (photoacoustic NDIR), temperature, relative humidity",
            [0x62],
            [
                // CO2 output range and operating temperature, SCD4x datasheet, sensor specifications.
                new ChannelSpec(Quantities.Co2, Units.PartsPerMillion, 0, 40_000),
                new ChannelSpec(Quantities.Temperature, Units.Celsius, -10, 60),
                new ChannelSpec(Quantities.Humidity, Units.RelativeHumidityPercent, 0, 100),
            ],
            (device, _) => new Scd4xAdapter(device))
        {
            Validate = (sensor, key) => sensor.Interval < Scd4xAdapter.MeasurementPeriod
                ? [$"{key}:Interval: {sensor.Interval} is shorter than the SCD4x's {Scd4xAdapter.MeasurementPeriod.TotalSeconds:0} s measurement period; every read would wait for the next one"]
                : [],
        },
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
