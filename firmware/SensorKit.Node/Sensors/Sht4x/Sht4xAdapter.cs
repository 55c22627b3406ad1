using System.Device.I2c;
using Iot.Device.Sht4x;
using SensorKit.Node.Sensors.Sensirion;
using UnitsNet;

namespace SensorKit.Node.Sensors.Sht4x;

/// <summary>
/// Reads a Sensirion SHT4x through <see cref="Iot.Device.Sht4x.Sht4x"/>: command 0xFD (high
/// repeatability, 8.3 ms maximum), a 9 ms wait in the binding, then two CRC-protected words. The
/// binding returns null for a word whose CRC fails; the <see cref="CrcCheckedDevice"/> around the bus
/// throws before that, naming the word, and the adapter checks that both words were read.
/// </summary>
public sealed class Sht4xAdapter : ISensorAdapter
{
    private const int WordsPerMeasurement = 2;

    private readonly CrcCheckedDevice _device;
    private readonly Iot.Device.Sht4x.Sht4x _sht;

    public Sht4xAdapter(I2cDevice device)
    {
        _device = new CrcCheckedDevice(device);

        // The constructor sends a soft reset (0x94) and waits 1 ms.
        _sht = new Iot.Device.Sht4x.Sht4x(_device);
    }

    public void Read(Span<double> values)
    {
        long before = _device.VerifiedWords;
        (RelativeHumidity? humidity, Temperature? temperature) = _sht.ReadHumidityAndTemperature(Sht4xRepeatability.High);
        if (_device.VerifiedWords - before < WordsPerMeasurement)
        {
            throw new SensorReadException("SHT4x driver returned values without reading a measurement from the chip");
        }

        values[0] = temperature?.DegreesCelsius ?? throw new SensorReadException("SHT4x gave no temperature (CRC mismatch)");

        // The binding crops humidity to 0..100 %RH, as the datasheet recommends for the raw −6..119 % range.
        values[1] = humidity?.Percent ?? throw new SensorReadException("SHT4x gave no humidity (CRC mismatch)");
    }

    public void Dispose() => _sht.Dispose();
}
