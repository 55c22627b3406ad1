using System.Device.I2c;
using SensorKit.Node.Scanning;

namespace SensorKit.Node.Sensors.Bosch;

/// <summary>The identity read the BME280 and the BME680 share (and the BMP280 look-alike answers): the chip id at register 0xD0.</summary>
public static class BoschChipId
{
    public const string Bmp280 = "bmp280";

    /// <summary>Bosch chip ids at register 0xD0: BME280 DS002 §5.4.1, BMP280 DS001 §4.3.1, BME680 DS001 memory map.</summary>
    private static readonly Dictionary<byte, string> Ids = new()
    {
        [0x60] = "bme280",
        [0x61] = "bme680",
        [0x58] = Bmp280,
        [0x56] = Bmp280,
        [0x57] = Bmp280,
    };

    public static ChipIdentification.Method Method { get; } =
        new("Bosch chip id (register 0xD0)", [0x76, 0x77], ["bme280", "bme680", Bmp280], ReadAsync);

    private static Task<ChipIdentity> ReadAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // Set the register pointer, then read (BME280 DS002 §6.2.2); the Bmxx80 binding does the same.
        device.WriteByte(0xD0);
        byte id = device.ReadByte();
        string detail = $"chip id 0x{id:x2} at 0xD0";
        return Task.FromResult(Ids.TryGetValue(id, out string? chip)
            ? new ChipIdentity(chip, chip == Bmp280 ? $"{detail}: a BMP280 (no humidity), often sold as BME280" : detail)
            : new ChipIdentity(null, $"{detail}: not a Bosch BME280/BME680/BMP280"));
    }
}
