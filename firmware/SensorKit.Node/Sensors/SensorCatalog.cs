using SensorKit.Node.Sensors.Bme280;
using SensorKit.Node.Sensors.Bme680;
using SensorKit.Node.Sensors.Scd4x;
using SensorKit.Node.Sensors.Sht3x;
using SensorKit.Node.Sensors.Sht4x;
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
    };

    public static IEnumerable<string> Names => Types.Keys.Order(StringComparer.Ordinal);

    public static bool TryGet(string name, out SensorType type) => Types.TryGetValue(name, out type!);

    public static SensorType Get(string name) =>
        Types.TryGetValue(name, out SensorType? t) ? t : throw new KeyNotFoundException($"unknown sensor type '{name}'");
}
