using System.Device.I2c;
using SensorKit.Node.Scanning;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Vl53L0X;

/// <summary>The VL53L0X's entry in <see cref="SensorCatalog"/>, and how a scan identifies it.</summary>
public static class Vl53L0XSensor
{
    public const string Name = "vl53l0x";

    public static SensorType Type { get; } = new(
        Name,
        "ST VL53L0X: time-of-flight distance to the water surface, and water level below a known mounting height",
        // 0x29 after power-up; the address can be changed in software only, and is lost on reset.
        [0x29],
        [new ChannelSpec(Quantities.Distance, Units.Metre, 0, Vl53L0XAdapter.MaxRangeMetres)],
        (device, options) => new Vl53L0XAdapter(device, options))
    {
        ConfiguredChannels = Vl53L0XAdapter.ChannelsFor,
        Validate = Vl53L0XAdapter.Validate,
        Identification = new("VL53L0X model id (register 0xC0)", [0x29], [Name], ReadModelIdAsync),
    };

    private static Task<ChipIdentity> ReadModelIdAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // VL53L0X reference registers (ST datasheet and API): IDENTIFICATION_MODEL_ID at 0xC0 reads 0xEE.
        device.WriteByte(0xC0);
        byte id = device.ReadByte();
        string detail = $"model id 0x{id:x2} at 0xC0";
        return Task.FromResult(id == 0xEE ? new ChipIdentity(Name, detail) : new ChipIdentity(null, $"{detail}: not a VL53L0X (0xee)"));
    }
}
