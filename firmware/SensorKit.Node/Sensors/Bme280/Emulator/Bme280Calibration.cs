namespace SensorKit.Simulation.Emulators.Bme280;

/// <summary>
/// BME280 trimming parameters (datasheet BST-BME280-DS002 §4.2.2, Table 16) and the datasheet's
/// floating-point compensation formulas (§8.1). The emulator inverts these to encode a physical
/// value into raw ADC counts.
/// </summary>
public sealed record Bme280Calibration(
    ushort T1, short T2, short T3,
    ushort P1, short P2, short P3, short P4, short P5, short P6, short P7, short P8, short P9,
    byte H1, short H2, byte H3, short H4, short H5, sbyte H6)
{
    /// <summary>
    /// Temperature and pressure trimming values of the Bosch worked example (BMP280 datasheet
    /// BST-BMP280-DS001 §3.12, shared by the BME280): adc_T 519888 gives 25.08 °C and adc_P 415148
    /// gives 100653.27 Pa. Humidity values are those of a production BME280.
    /// </summary>
    public static Bme280Calibration Datasheet { get; } = new(
        27504, 26435, -1000,
        36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000,
        75, 362, 0, 313, 50, 30);

    /// <summary>Returns t_fine and the temperature in °C for a raw 20-bit reading (§8.1).</summary>
    public (double TFine, double Celsius) CompensateTemperature(int adcT)
    {
        double var1 = ((adcT / 16384.0) - (T1 / 1024.0)) * T2;
        double var2 = ((adcT / 131072.0) - (T1 / 8192.0)) * ((adcT / 131072.0) - (T1 / 8192.0)) * T3;
        double tFine = var1 + var2;
        return (tFine, tFine / 5120.0);
    }

    /// <summary>Pressure in Pa for a raw 20-bit reading (§8.1).</summary>
    public double CompensatePressure(int adcP, double tFine)
    {
        double var1 = (tFine / 2.0) - 64000.0;
        double var2 = var1 * var1 * P6 / 32768.0;
        var2 += var1 * P5 * 2.0;
        var2 = (var2 / 4.0) + (P4 * 65536.0);
        var1 = ((P3 * var1 * var1 / 524288.0) + (P2 * var1)) / 524288.0;
        var1 = (1.0 + (var1 / 32768.0)) * P1;
        if (var1 == 0.0)
        {
            return 0;
        }

        double p = 1048576.0 - adcP;
        p = (p - (var2 / 4096.0)) * 6250.0 / var1;
        var1 = P9 * p * p / 2147483648.0;
        var2 = p * P8 / 32768.0;
        return p + ((var1 + var2 + P7) / 16.0);
    }

    /// <summary>Relative humidity in % for a raw 16-bit reading (§8.1), clamped to 0..100 as the chip's formula does.</summary>
    public double CompensateHumidity(int adcH, double tFine)
    {
        double h = tFine - 76800.0;
        h = (adcH - ((H4 * 64.0) + (H5 / 16384.0 * h))) *
            (H2 / 65536.0 * (1.0 + (H6 / 67108864.0 * h * (1.0 + (H3 / 67108864.0 * h)))));
        h *= 1.0 - (H1 * h / 524288.0);
        return Math.Clamp(h, 0, 100);
    }

    /// <summary>The raw temperature whose compensation is closest to <paramref name="celsius"/> (monotonic: bisection).</summary>
    public int EncodeTemperature(double celsius) => Bisect(adc => CompensateTemperature(adc).Celsius, celsius, 0, (1 << 20) - 1, increasing: true);

    public int EncodePressure(double pascals, double tFine) => Bisect(adc => CompensatePressure(adc, tFine), pascals, 0, (1 << 20) - 1, increasing: false);

    public int EncodeHumidity(double percent, double tFine) => Bisect(adc => CompensateHumidity(adc, tFine), percent, 0, 0xFFFF, increasing: true);

    private static int Bisect(Func<int, double> f, double target, int lo, int hi, bool increasing)
    {
        while (hi - lo > 1)
        {
            int mid = lo + ((hi - lo) / 2);
            double v = f(mid);
            if (increasing ? v < target : v > target)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return Math.Abs(f(lo) - target) <= Math.Abs(f(hi) - target) ? lo : hi;
    }
}
