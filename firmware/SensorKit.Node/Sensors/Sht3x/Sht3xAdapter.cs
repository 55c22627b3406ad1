using System.Device.I2c;
using Iot.Device.Sht3x;
using SensorKit.Node.Sensors.Sensirion;

namespace SensorKit.Node.Sensors.Sht3x;

/// <summary>
/// Reads a Sensirion SHT3x through <see cref="Iot.Device.Sht3x.Sht3x"/>. Each of the binding's
/// <c>Temperature</c> and <c>Humidity</c> getters runs one single-shot measurement (datasheet §4.3,
/// command 0x2400: high repeatability, no clock stretching, 15 ms at most) and waits 20 ms for it.
/// On a CRC mismatch the binding silently keeps its previous value, so the bus device is wrapped in
/// a <see cref="CrcCheckedDevice"/> that throws instead, and the adapter checks that both getters
/// really read a fresh pair of words.
/// </summary>
public sealed class Sht3xAdapter : ISensorAdapter
{
    /// <summary>One single-shot result: temperature and humidity, each a CRC-protected word (§4.4).</summary>
    private const int WordsPerMeasurement = 2;

    private readonly CrcCheckedDevice _device;
    private readonly Iot.Device.Sht3x.Sht3x _sht;

    public Sht3xAdapter(I2cDevice device)
    {
        _device = new CrcCheckedDevice(device);

        // The constructor sends a soft reset (0x30A2, §4.9), which also switches the heater off (§4.10).
        _sht = new Iot.Device.Sht3x.Sht3x(_device, Resolution.High);
    }

    public void Read(Span<double> values)
    {
        long before = _device.VerifiedWords;

        // Two measurements: the binding offers no way to get both values of one. Both are rounded to 0.1 by the binding.
        double celsius = _sht.Temperature.DegreesCelsius;
        double percent = _sht.Humidity.Percent;

        if (_device.VerifiedWords - before < 2 * WordsPerMeasurement)
        {
            throw new SensorReadException("SHT3x driver returned values without reading two measurements from the chip");
        }

        values[0] = celsius;
        values[1] = percent;
    }

    public void Dispose() => _sht.Dispose();
}
