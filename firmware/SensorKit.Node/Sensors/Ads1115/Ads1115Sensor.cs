using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Ads1115;

/// <summary>The ADS1115's entry in <see cref="SensorCatalog"/>. It has no identity register: a scan can only say "could be" at its addresses.</summary>
public static class Ads1115Sensor
{
    public const string Name = "ads1115";

    public static SensorType Type { get; } = new(
        Name,
        "TI ADS1115: 16-bit ADC for analogue sensors (pressure transducers, float switches, rain gauges), optionally scaled",
        // ADDR strapped to GND, VDD, SDA or SCL (datasheet SBAS444 §9.5.1.1, "I2C Address Selection").
        [0x48, 0x49, 0x4A, 0x4B],
        [new ChannelSpec(Quantities.Voltage, Units.Volt, -Ads1115Adapter.DefaultFullScale, Ads1115Adapter.DefaultFullScale)],
        (device, options) => new Ads1115Adapter(device, options))
    {
        ConfiguredChannels = Ads1115Adapter.ChannelsFor,
        Validate = Ads1115Adapter.Validate,
    };
}
