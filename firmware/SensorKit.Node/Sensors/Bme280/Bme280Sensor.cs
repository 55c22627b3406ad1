using SensorKit.Node.Sensors.Bosch;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Bme280;

/// <summary>The BME280's entry in <see cref="SensorCatalog"/>.</summary>
public static class Bme280Sensor
{
    public const string Name = "bme280";

    public static SensorType Type { get; } = new(
        Name,
        "Bosch BME280: temperature, relative humidity, barometric pressure",
        [0x76, 0x77],
        [
            // Operating range, BME280 datasheet §1 (Table 1 and 2).
            new ChannelSpec(Quantities.Temperature, Units.Celsius, -40, 85),
            new ChannelSpec(Quantities.Humidity, Units.RelativeHumidityPercent, 0, 100),
            new ChannelSpec(Quantities.Pressure, Units.Pascal, 30_000, 110_000),
        ],
        (device, _) => new Bme280Adapter(device))
    {
        Identification = BoschChipId.Method,
    };
}
