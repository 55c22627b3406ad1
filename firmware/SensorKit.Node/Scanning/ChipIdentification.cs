using System.Device.I2c;

namespace SensorKit.Node.Scanning;

/// <summary>What a device at an address said about itself.</summary>
/// <param name="Chip">The chip it identified as (e.g. "bme280", "bmp280"); null when it gave no recognisable identity.</param>
/// <param name="Detail">What was read, e.g. "chip id 0x60 at 0xD0".</param>
/// <param name="ReadFailed">The identity could not be read reliably (CRC error, bus error after the address was acknowledged).</param>
public readonly record struct ChipIdentity(string? Chip, string Detail, bool ReadFailed = false);

/// <summary>
/// Reads a chip's identity without changing its configuration: only register-pointer writes and
/// read-only commands. Each method throws <see cref="IOException"/> when nobody acknowledges.
/// </summary>
public static class ChipIdentification
{
    /// <summary>One way of asking "who are you", the addresses it applies to, and the chips it can tell apart.</summary>
    public sealed record Method(string Name, IReadOnlyList<int> Addresses, IReadOnlyList<string> Recognises, Func<I2cDevice, TimeProvider, CancellationToken, Task<ChipIdentity>> Identify);

    /// <summary>In the order they are tried: SHT4x before SHT3x, since a one-byte SHT4x command is only half an SHT3x command and changes nothing there.</summary>
    public static IReadOnlyList<Method> Methods { get; } =
    [
        new("Bosch chip id (register 0xD0)", [0x76, 0x77], ["bme280", "bme680", "bmp280"], ReadBoschChipIdAsync),
        new("VL53L0X model id (register 0xC0)", [0x29], ["vl53l0x"], ReadVl53L0XModelIdAsync),
        new("SHT4x serial number (command 0x89)", [0x44, 0x45, 0x46], ["sht4x"], ReadSht4xSerialAsync),
        new("SHT3x status register (command 0xF32D)", [0x44, 0x45], ["sht3x"], ReadSht3xStatusAsync),
        new("SCD4x get_data_ready_status (command 0xE4B8)", [0x62], ["scd4x"], ReadScd4xDataReadyAsync),
    ];

    /// <summary>Chips without an identity register or command, by the addresses their straps allow. A scan can only say "could be".</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<int>> AddressOnlyChips { get; } = new Dictionary<string, IReadOnlyList<int>>
    {
        // ADS1115 datasheet SBAS444 §9.5.1.1: ADDR to GND, VDD, SDA, SCL.
        ["ads1115"] = [0x48, 0x49, 0x4A, 0x4B],
        // INA219 datasheet SBOS448, serial bus address table: A0/A1 strapping gives 16 addresses.
        ["ina219"] = [.. Enumerable.Range(0x40, 16)],
        // BH1750FVI datasheet: ADDR low 0x23, ADDR high 0x5C.
        ["bh1750"] = [0x23, 0x5C],
    };

    /// <summary>Bosch chip ids at register 0xD0: BME280 DS002 §5.4.1, BMP280 DS001 §4.3.1, BME680 DS001 memory map.</summary>
    private static readonly Dictionary<byte, string> BoschChipIds = new()
    {
        [0x60] = "bme280",
        [0x61] = "bme680",
        [0x58] = "bmp280",
        [0x56] = "bmp280",
        [0x57] = "bmp280",
    };

    private static Task<ChipIdentity> ReadBoschChipIdAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // Set the register pointer, then read (BME280 DS002 §6.2.2); the Bmxx80 binding does the same.
        device.WriteByte(0xD0);
        byte id = device.ReadByte();
        string detail = $"chip id 0x{id:x2} at 0xD0";
        return Task.FromResult(BoschChipIds.TryGetValue(id, out string? chip)
            ? new ChipIdentity(chip, chip == "bmp280" ? $"{detail}: a BMP280 (no humidity), often sold as BME280" : detail)
            : new ChipIdentity(null, $"{detail}: not a Bosch BME280/BME680/BMP280"));
    }

    private static Task<ChipIdentity> ReadVl53L0XModelIdAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // VL53L0X reference registers (ST datasheet and API): IDENTIFICATION_MODEL_ID at 0xC0 reads 0xEE.
        device.WriteByte(0xC0);
        byte id = device.ReadByte();
        string detail = $"model id 0x{id:x2} at 0xC0";
        return Task.FromResult(id == 0xEE ? new ChipIdentity("vl53l0x", detail) : new ChipIdentity(null, $"{detail}: not a VL53L0X (0xee)"));
    }

    private static async Task<ChipIdentity> ReadSht4xSerialAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // SHT4x datasheet, command overview: 0x89 returns the serial number as two CRC-protected words.
        device.WriteByte(0x89);
        await Task.Delay(TimeSpan.FromMilliseconds(10), time, ct);
        byte[] reply = new byte[6];
        device.Read(reply);
        if (!SensirionCrc.Check(reply))
        {
            return new ChipIdentity(null, "the reply to the SHT4x serial-number command fails its CRC check (noise on the bus, or another chip)", ReadFailed: true);
        }

        uint serial = (uint)((reply[0] << 24) | (reply[1] << 16) | (reply[3] << 8) | reply[4]);
        return new ChipIdentity("sht4x", $"serial number 0x{serial:x8}");
    }

    private static async Task<ChipIdentity> ReadSht3xStatusAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // SHT3x-DIS datasheet §4.11 Table 17: 0xF32D returns the status register as one CRC-protected word.
        device.Write([0xF3, 0x2D]);
        await Task.Delay(TimeSpan.FromMilliseconds(2), time, ct);
        byte[] reply = new byte[3];
        device.Read(reply);
        if (!SensirionCrc.Check(reply))
        {
            return new ChipIdentity(null, "the reply to the SHT3x status command fails its CRC check (noise on the bus, or another chip)", ReadFailed: true);
        }

        return new ChipIdentity("sht3x", $"status register 0x{reply[0]:x2}{reply[1]:x2} (no chip id; Sensirion command set and CRC match)");
    }

    private static async Task<ChipIdentity> ReadScd4xDataReadyAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // SCD4x datasheet, get_data_ready_status: allowed in idle and periodic mode, 1 ms, one CRC-protected word.
        // The serial number command would need periodic measurement stopped, which a scan must not do.
        device.Write([0xE4, 0xB8]);
        await Task.Delay(TimeSpan.FromMilliseconds(2), time, ct);
        byte[] reply = new byte[3];
        device.Read(reply);
        if (!SensirionCrc.Check(reply))
        {
            return new ChipIdentity(null, "the reply to the SCD4x data-ready command fails its CRC check (noise on the bus, or another chip)", ReadFailed: true);
        }

        return new ChipIdentity("scd4x", "answers get_data_ready_status with a valid CRC (no chip id without stopping measurement)");
    }
}

/// <summary>Sensirion's CRC-8: polynomial 0x31, initial value 0xFF, over each 2-byte word (SHT3x-DIS datasheet §4.12).</summary>
public static class SensirionCrc
{
    public static byte Compute(ReadOnlySpan<byte> data)
    {
        byte crc = 0xFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x80) != 0 ? (byte)((crc << 1) ^ 0x31) : (byte)(crc << 1);
            }
        }

        return crc;
    }

    /// <summary>True when every 3-byte group (word, CRC) of <paramref name="reply"/> checks out.</summary>
    public static bool Check(ReadOnlySpan<byte> reply)
    {
        for (int i = 0; i + 2 < reply.Length; i += 3)
        {
            if (Compute(reply.Slice(i, 2)) != reply[i + 2])
            {
                return false;
            }
        }

        return true;
    }
}
