using System.Device.I2c;
using System.Globalization;
using Iot.Device.Vl53L0X;
using SensorKit.Node.Configuration;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Vl53L0X;

/// <summary>
/// Measures the distance down to the water surface with a VL53L0X through
/// <see cref="Iot.Device.Vl53L0X.Vl53L0X.DistanceSingleMeasurement"/>: it starts one ranging, waits
/// for the start bit to clear and for the "new sample ready" interrupt, reads the range and clears
/// the interrupt, so a value is never an earlier one. It throws <see cref="IOException"/> when the
/// chip does not finish within the timeout. The binding's <c>Distance</c> and <c>GetDistanceOnce</c>
/// would instead turn any error into 8190 ("out of range") and average several rangings; we call
/// neither, and treat 8190 and above (no target seen) as a read error, never as a distance.
/// </summary>
public sealed class Vl53L0XAdapter : ISensorAdapter
{
    /// <summary>Ranging limit of the long-range profile the binding selects (datasheet DocID029104: up to 2 m).</summary>
    public const double MaxRangeMetres = 2.0;

    private readonly Iot.Device.Vl53L0X.Vl53L0X _sensor;
    private readonly double? _mountingHeight;

    public Vl53L0XAdapter(I2cDevice device, SensorOptions options)
    {
        _mountingHeight = options.MountingHeight;
        try
        {
            // Runs ST's initialisation, SPAD set-up and reference calibration, then selects the long-range preset.
            _sensor = new Iot.Device.Vl53L0X.Vl53L0X(device, operationTimeoutMilliseconds: 500)
            {
                MeasurementMode = MeasurementMode.Single,
            };
        }
        catch (Exception e)
        {
            // The sampler opens a new device on every retry; this one must not leak a bus handle.
            device.Dispose();
            if (e.GetType() == typeof(Exception))
            {
                // The binding throws a bare Exception when the reference calibration never completes.
                throw new SensorReadException($"VL53L0X initialisation failed: {e.Message}", e);
            }

            throw;
        }
    }

    public void Read(Span<double> values)
    {
        ushort millimetres = _sensor.DistanceSingleMeasurement;
        if (millimetres >= (ushort)OperationRange.OutOfRange)
        {
            throw new SensorReadException(string.Create(CultureInfo.InvariantCulture, $"VL53L0X sees no target within range (reads {millimetres} mm)"));
        }

        double metres = UnitsNet.Length.FromMillimeters(millimetres).Meters;
        values[0] = metres;
        if (_mountingHeight is { } height)
        {
            values[1] = WaterLevel(height, metres);
        }
    }

    public void Dispose() => _sensor.Dispose();

    /// <summary>Water level above its zero for a sensor <paramref name="mountingHeight"/> metres above that zero.</summary>
    public static double WaterLevel(double mountingHeight, double distance) => mountingHeight - distance;

    /// <summary>Distance and, with <see cref="SensorOptions.MountingHeight"/>, water level.</summary>
    public static IReadOnlyList<ChannelSpec> ChannelsFor(SensorOptions options)
    {
        var distance = new ChannelSpec(Quantities.Distance, Units.Metre, 0, MaxRangeMetres);
        return options.MountingHeight is { } h
            ? [distance, new ChannelSpec(Quantities.WaterLevel, Units.Metre, h - MaxRangeMetres, h)]
            : [distance];
    }

    public static IEnumerable<string> Validate(SensorOptions options, string key)
    {
        if (options.MountingHeight is { } h && (!double.IsFinite(h) || h <= 0))
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{key}:MountingHeight: {h} must be a positive number of metres (sensor above the water level's zero)");
        }
    }
}
