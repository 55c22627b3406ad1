using System.Device.I2c;
using Iot.Device.Bmxx80;
using Iot.Device.Bmxx80.FilteringMode;
using Iot.Device.Bmxx80.PowerMode;
using UnitsNet;

namespace SensorKit.Node.Sensors.Bme680;

/// <summary>
/// Reads a Bosch BME680 in forced mode through <see cref="Iot.Device.Bmxx80.Bme680"/>: one TPHG
/// cycle per read (temperature, pressure, humidity, then the gas sensor heated to 320 °C for 150 ms),
/// after which the chip returns to sleep (datasheet §3.1, Table 10). The binding's <c>Read()</c> sleeps the
/// computed cycle time and then decodes whatever the data registers hold, without looking at the
/// status. The adapter runs the same steps itself and checks in between, as §3.4 asks: the chip must
/// be back in sleep mode with new_data_0 set (§5.3.5.1) before the data registers are read, and the
/// gas value counts only with gas_valid_r and heat_stab_r set (§5.3.5.5, §5.3.5.6).
/// </summary>
public sealed class Bme680Adapter : ISensorAdapter
{
    private readonly Iot.Device.Bmxx80.Bme680 _bme;
    private TimeSpan _cycle;
    private bool _reconfigure;

    public Bme680Adapter(I2cDevice device)
    {
        // The constructor checks the chip id (0x61), reads the calibration, soft-resets the chip and
        // configures heater profile 1 (320 °C, 150 ms) with gas conversion on.
        _bme = new Iot.Device.Bmxx80.Bme680(device);
        Configure();
    }

    public void Read(Span<double> values)
    {
        if (_reconfigure)
        {
            // After a failed read the chip may have been power-cycled and lost its configuration:
            // a reset chip skips every measurement and has its heater off.
            _bme.Reset();
            Configure();
            _reconfigure = false;
        }

        bool done = false;
        try
        {
            ReadFresh(values);
            done = true;
        }
        finally
        {
            _reconfigure = !done;
        }
    }

    public void Dispose() => _bme.Dispose();

    private void Configure()
    {
        // ×1 oversampling (16-bit temperature and pressure, §3.3.1, §3.3.2) and no IIR filter (§5.3.2.4):
        // each read is one independent measurement, so a change shows in the very next sample.
        _bme.TemperatureSampling = Iot.Device.Bmxx80.Sampling.UltraLowPower;
        _bme.PressureSampling = Iot.Device.Bmxx80.Sampling.UltraLowPower;
        _bme.HumiditySampling = Iot.Device.Bmxx80.Sampling.UltraLowPower;
        _bme.FilterMode = Bme680FilteringMode.C0;
        _cycle = _bme.GetMeasurementDuration(_bme.HeaterProfile).ToTimeSpan();
    }

    private void ReadFresh(Span<double> values)
    {
        _bme.SetPowerMode(Bme680PowerMode.Forced);

        // The wait the binding's Read() would do (about 162 ms, most of it the heater); done here so
        // the status check below comes before the data registers are read.
        Thread.Sleep(_cycle);

        if (_bme.ReadPowerMode() != Bme680PowerMode.Sleep || _bme.ReadMeasurementInProcess())
        {
            throw new SensorReadException($"BME680 still measuring {_cycle.TotalMilliseconds:0} ms after the start; the data registers would be stale");
        }

        if (!_bme.ReadNewDataIsAvailable())
        {
            throw new SensorReadException("BME680 finished without new data (new_data_0 clear); the data registers hold an older measurement");
        }

        values[0] = _bme.TryReadTemperature(out Temperature t) ? t.DegreesCelsius : throw new SensorReadException("BME680 temperature measurement is switched off");
        values[1] = _bme.TryReadHumidity(out RelativeHumidity h) ? h.Percent : throw new SensorReadException("BME680 humidity measurement is switched off");
        values[2] = _bme.TryReadPressure(out Pressure p) ? p.Pascals : throw new SensorReadException("BME680 pressure measurement is switched off");
        values[3] = _bme.TryReadGasResistance(out ElectricResistance r)
            ? r.Ohms
            : throw new SensorReadException("BME680 gas measurement not valid: gas_valid_r or heat_stab_r clear (heater did not reach 320 °C)");
    }
}
