using System.Device.I2c;
using SensorKit.Node.Sensors.Sensirion;
using UnitsNet;

namespace SensorKit.Node.Sensors.Scd4x;

/// <summary>
/// Reads a Sensirion SCD40/SCD41 through <see cref="Iot.Device.Scd4x.Scd4x"/> in periodic
/// measurement mode (datasheet §3.5.1: a new measurement every 5 s).
/// <list type="bullet">
/// <item>The binding's constructor stops any running measurement and re-initialises the chip: it
/// blocks about 520 ms (stop_periodic_measurement 500 ms, reinit 20 ms).</item>
/// <item>Its <c>Co2</c>, <c>Temperature</c> and <c>RelativeHumidity</c> properties return the cached
/// last value until 5 s have passed, so the adapter calls <c>ReadPeriodicMeasurement</c>, which
/// waits for the next period and for get_data_ready_status (§3.8.2) before read_measurement (§3.5.2).
/// The first read after opening therefore blocks until the chip's first measurement, about 5 s.</item>
/// <item>The sensor's Interval must be at least 5 s, or every read waits out the rest of the period.</item>
/// <item><c>SetPressureCalibration</c> is not used: in 4.2.0 it always writes 0 hPa.</item>
/// </list>
/// </summary>
public sealed class Scd4xAdapter : ISensorAdapter
{
    /// <summary>The chip's signal update interval in periodic mode (§3.5.1); the binding hard-codes the same.</summary>
    public static readonly TimeSpan MeasurementPeriod = TimeSpan.FromSeconds(5);

    private const int WordsPerMeasurement = 3;

    private readonly CrcCheckedDevice _device;
    private readonly Iot.Device.Scd4x.Scd4x _scd;
    private bool _restart;

    public Scd4xAdapter(I2cDevice device)
    {
        _device = new CrcCheckedDevice(device);
        _scd = new Iot.Device.Scd4x.Scd4x(_device);
    }

    public void Read(Span<double> values)
    {
        if (_restart)
        {
            // After a bus failure the chip may have lost power and be idle again: stop and re-initialise,
            // so the next read starts periodic measurement afresh instead of polling an idle chip for 6 s.
            _scd.Reset();
            _restart = false;
        }

        long before = _device.VerifiedWords;
        (VolumeConcentration? co2, RelativeHumidity? humidity, Temperature? temperature) measurement;
        try
        {
            measurement = _scd.ReadPeriodicMeasurement();
        }
        catch (IOException)
        {
            _restart = true;
            throw;
        }
        catch (Exception e) when (e.GetType() == typeof(Exception))
        {
            // The binding throws a plain Exception("SCD4x not responding.") after 6 s without data ready.
            _restart = true;
            throw new SensorReadException("SCD4x reported no new measurement for 6 s", e);
        }

        if (_device.VerifiedWords - before < WordsPerMeasurement)
        {
            throw new SensorReadException("SCD4x driver returned values without reading a measurement from the chip");
        }

        values[0] = measurement.co2?.PartsPerMillion ?? throw new SensorReadException("SCD4x gave no CO2 (CRC mismatch)");
        values[1] = measurement.temperature?.DegreesCelsius ?? throw new SensorReadException("SCD4x gave no temperature (CRC mismatch)");
        values[2] = measurement.humidity?.Percent ?? throw new SensorReadException("SCD4x gave no humidity (CRC mismatch)");
    }

    public void Dispose()
    {
        try
        {
            // Stops periodic measurement (500 ms), so a chip left on the bus goes back to idle.
            _scd.Dispose();
        }
        catch (IOException)
        {
            // The chip is gone (that is usually why the sampler closes us); nothing to stop. The
            // binding threw before releasing the bus device, so release it here.
            _device.Dispose();
        }
    }
}
