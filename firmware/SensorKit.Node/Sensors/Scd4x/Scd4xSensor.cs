using System.Device.I2c;
using SensorKit.Node.Scanning;
using SensorKit.Node.Sensors.Sensirion;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Scd4x;

/// <summary>The SCD4x's entry in <see cref="SensorCatalog"/>, and how a scan identifies it.</summary>
public static class Scd4xSensor
{
    public const string Name = "scd4x";

    public static SensorType Type { get; } = new(
        Name,
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
        Identification = new("SCD4x get_data_ready_status (command 0xE4B8)", [0x62], [Name], ReadDataReadyAsync),
    };

    private static async Task<ChipIdentity> ReadDataReadyAsync(I2cDevice device, TimeProvider time, CancellationToken ct)
    {
        // SCD4x datasheet, get_data_ready_status: allowed in idle and periodic mode, 1 ms, one CRC-protected word.
        // The serial number command would need periodic measurement stopped, which a scan must not do.
        byte[]? reply = await SensirionQuery.ReadAsync(device, [0xE4, 0xB8], TimeSpan.FromMilliseconds(2), 1, time, ct);
        return reply is null
            ? SensirionQuery.CrcFailure("SCD4x data-ready")
            : new ChipIdentity(Name, "answers get_data_ready_status with a valid CRC (no chip id without stopping measurement)");
    }
}
