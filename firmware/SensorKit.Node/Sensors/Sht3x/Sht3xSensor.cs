using System.Device.I2c;
using SensorKit.Node.Scanning;
using SensorKit.Node.Sensors.Sensirion;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Sht3x;

/// <summary>The SHT3x's entry in <see cref="SensorCatalog"/>, and how a scan identifies it.</summary>
public static class Sht3xSensor
{
    public const string Name = "sht3x";

    public static SensorType Type { get; } = new(
        Name,
        "Sensirion SHT30/SHT31/SHT35: temperature, relative humidity",
        // ADDR pin low / high.
        [0x44, 0x45],
        [
            // Specified range, SHT3x-DIS datasheet, sensor performance tables.
            new ChannelSpec(Quantities.Temperature, Units.Celsius, -40, 125),
            new ChannelSpec(Quantities.Humidity, Units.RelativeHumidityPercent, 0, 100),
        ],
        (device, _) => new Sht3xAdapter(device))
    {
        Identification = new("SHT3x status register (command 0xF32D)", [0x44, 0x45], [Name], ReadStatusAsync),
    };

    private static async Task<ChipIdentity> ReadStatusAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // SHT3x-DIS datasheet §4.11 Table 17: 0xF32D returns the status register as one CRC-protected word.
        byte[]? reply = await SensirionQuery.ReadAsync(device, [0xF3, 0x2D], TimeSpan.FromMilliseconds(2), 1, time, ct);
        return reply is null
            ? SensirionQuery.CrcFailure("SHT3x status")
            : new ChipIdentity(Name, $"status register 0x{reply[0]:x2}{reply[1]:x2} (no chip id; Sensirion command set and CRC match)");
    }
}
