using System.Device.I2c;
using SensorKit.Node.Scanning;
using SensorKit.Node.Sensors.Sensirion;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Sht4x;

/// <summary>The SHT4x's entry in <see cref="SensorCatalog"/>, and how a scan identifies it.</summary>
public static class Sht4xSensor
{
    public const string Name = "sht4x";

    public static SensorType Type { get; } = new(
        Name,
        "Sensirion SHT40/SHT41/SHT45: temperature, relative humidity",
        // Fixed per part number: SHT4x-A… at 0x44 (most breakouts), -B… at 0x45, -C… at 0x46.
        [0x44, 0x45, 0x46],
        [
            // Specified range, SHT4x datasheet, sensor performance tables.
            new ChannelSpec(Quantities.Temperature, Units.Celsius, -40, 125),
            new ChannelSpec(Quantities.Humidity, Units.RelativeHumidityPercent, 0, 100),
        ],
        (device, _) => new Sht4xAdapter(device))
    {
        Identification = new("SHT4x serial number (command 0x89)", [0x44, 0x45, 0x46], [Name], ReadSerialAsync),
    };

    private static async Task<ChipIdentity> ReadSerialAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // SHT4x datasheet, command overview: 0x89 returns the serial number as two CRC-protected words.
        byte[]? reply = await SensirionQuery.ReadAsync(device, [0x89], TimeSpan.FromMilliseconds(10), 2, time, ct);
        if (reply is null)
        {
            return SensirionQuery.CrcFailure("SHT4x serial-number");
        }

        uint serial = (uint)((reply[0] << 24) | (reply[1] << 16) | (reply[3] << 8) | reply[4]);
        return new ChipIdentity(Name, $"serial number 0x{serial:x8}");
    }
}
