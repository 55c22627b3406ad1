using System.Device.I2c;
using Iot.Device.Bh1750fvi;
using SensorKit.Protocol;

namespace SensorKit.Node.Sensors.Bh1750;

/// <summary>
/// Reads illuminance from a BH1750FVI through <see cref="Bh1750fvi"/> in one-time H-resolution
/// mode (1 lx, the chip powers down after each measurement). The binding writes the measurement
/// command and reads the data register at once, without waiting, so it returns the result of the
/// previous measurement (0 lx after reset). The chip has no ready flag. The adapter therefore
/// starts a measurement, waits the datasheet's maximum measurement time (180 ms in H-resolution
/// mode at the default MTreg of 69), and only then takes the result, which the binding's next
/// call returns. A result of FFFFh means the sensor is saturated (above about 54.6 klx) and is a
/// read error, not a value.
/// </summary>
public sealed class Bh1750Adapter : ISensorAdapter
{
    /// <summary>H-resolution measurement time, maximum (datasheet, electrical characteristics: typ. 120 ms, max. 180 ms).</summary>
    public static readonly TimeSpan MaxMeasurementTime = TimeSpan.FromMilliseconds(180);

    /// <summary>Largest illuminance before the 16-bit count saturates: 65535 / 1.2.</summary>
    public const double MaxLux = 65535 / 1.2;

    private readonly Bh1750fvi _sensor;

    public Bh1750Adapter(I2cDevice device)
    {
        try
        {
            // Power on, reset the data register, MTreg 69 (transmittance 1).
            _sensor = new Bh1750fvi(device, MeasuringMode.OneTimeHighResolutionMode);
        }
        catch
        {
            // The sampler opens a new device on every retry; this one must not leak a bus handle.
            device.Dispose();
            throw;
        }
    }

    public void Read(Span<double> values)
    {
        // Starts a measurement; what it reads back is the previous result.
        _ = _sensor.Illuminance;

        // The binding offers no wait and the chip no ready flag; the adapter's Read is synchronous by contract.
        Thread.Sleep(MaxMeasurementTime);

        // Returns the measurement started above (and starts another, which the chip finishes and then powers down).
        double lux = _sensor.Illuminance.Lux;
        if (lux >= MaxLux)
        {
            throw new SensorReadException("BH1750 saturated (count FFFFh): illuminance above about 54.6 klx is unknown");
        }

        values[0] = lux;
    }

    public void Dispose() => _sensor.Dispose();

    public static readonly IReadOnlyList<ChannelSpec> Channels =
    [
        // Datasheet: 1–65535 lx measurement range.
        new ChannelSpec(Quantities.Illuminance, Units.Lux, 0, 65535),
    ];
}
