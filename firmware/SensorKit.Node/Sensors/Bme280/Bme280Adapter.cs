using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.PowerMode;
using Iot.Device.Bmxx80.ReadResult;

namespace SensorKit.Node.Sensors.Bme280;

/// <summary>
/// Reads a BME280 in forced mode through <see cref="Iot.Device.Bmxx80.Bme280"/>.
/// The binding's <c>TryRead*</c> methods decode whatever sits in the data registers, so without a
/// measurement they return reset values (26.46 °C); <c>Read()</c> triggers one. We then check that
/// the chip went back to sleep, which it does only after it has written fresh data
/// (datasheet §3.3.3, forced mode).
/// </summary>
public sealed class Bme280Adapter : ISensorAdapter
{
    private readonly Iot.Device.Bmxx80.Bme280 _bme;

    public Bme280Adapter(I2cDevice device)
    {
        // The constructor checks the chip id (0x60), reads calibration, and soft-resets the chip.
        _bme = new Iot.Device.Bmxx80.Bme280(device)
        {
            // ×1 oversampling: 9.3 ms per measurement (datasheet §9.1), enough for window means.
            TemperatureSampling = Iot.Device.Bmxx80.Sampling.UltraLowPower,
            PressureSampling = Iot.Device.Bmxx80.Sampling.UltraLowPower,
            HumiditySampling = Iot.Device.Bmxx80.Sampling.UltraLowPower,
        };
    }

    public void Read(Span<double> values)
    {
        Bme280ReadResult r = _bme.Read();
        if (_bme.ReadPowerMode() != Bmx280PowerMode.Sleep)
        {
            throw new SensorReadException("BME280 still measuring after the wait; data registers would be stale");
        }

        values[0] = r.Temperature?.DegreesCelsius ?? throw new SensorReadException("BME280 gave no temperature");
        values[1] = r.Humidity?.Percent ?? throw new SensorReadException("BME280 gave no humidity");
        values[2] = r.Pressure?.Pascals ?? throw new SensorReadException("BME280 gave no pressure");
    }

    public void Dispose() => _bme.Dispose();
}
