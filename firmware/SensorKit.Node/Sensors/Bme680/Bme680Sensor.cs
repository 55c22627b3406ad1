using SensorKit.Node.Sensors.Bosch;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Bme680;

/// <summary>The BME680's entry in <see cref="SensorCatalog"/>.</summary>
public static class Bme680Sensor
{
    public const string Name = "bme680";

    public static SensorType Type { get; } = new(
        Name,
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
        (device, _) => new Bme680Adapter(device))
    {
        Identification = BoschChipId.Method,
    };
}
