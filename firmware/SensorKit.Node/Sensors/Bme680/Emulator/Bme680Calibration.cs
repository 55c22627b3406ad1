namespace SensorKit.Simulation.Emulators.Bme680;

/// <summary>
/// BME680 trimming parameters (datasheet BST-BME680-DS001 §3.3 and §3.4.1, registers 0x89–0xA1,
/// 0xE1–0xF0, 0x00, 0x02, 0x04) and Bosch's floating-point compensation (BME68x Sensor API, which the
/// datasheet refers to for the formulas). The emulator inverts these to encode a physical value.
/// </summary>
/// <remarks>
/// Iot.Device.Bindings 4.2.0 reads par_t3, par_p3, par_p6 and par_p7 as unsigned bytes and
/// range_sw_err as an unsigned nibble, where Bosch's API sign-extends them; a chip with a negative
/// value there decodes wrongly. The production values below are all positive, so both agree.
/// </remarks>
public sealed record Bme680Calibration(
    ushort T1, short T2, sbyte T3,
    ushort P1, short P2, sbyte P3, short P4, short P5, sbyte P6, sbyte P7, short P8, short P9, byte P10,
    ushort H1, ushort H2, sbyte H3, sbyte H4, sbyte H5, byte H6, sbyte H7,
    sbyte Gh1, short Gh2, sbyte Gh3, byte ResHeatRange, sbyte ResHeatVal, sbyte RangeSwitchingError)
{
    // Gas range correction factors, Bosch BME680 low-gas variant (§3.4.1).
    private static readonly double[] K1 = [0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, -0.8, 0.0, 0.0, -0.2, -0.5, 0.0, -1.0, 0.0, 0.0];
    private static readonly double[] K2 = [0.0, 0.0, 0.0, 0.0, 0.1, 0.7, 0.0, -0.8, -0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];

    /// <summary>Trimming values read from a production BME680.</summary>
    public static Bme680Calibration Production { get; } = new(
        26203, 26519, 3,
        35008, -10284, 88, 9692, -202, 30, 24, -516, -3469, 30,
        794, 1007, 0, 45, 20, 120, -100,
        -30, -5969, 18, 1, 45, 0);

    /// <summary>Returns t_fine and the temperature in °C for a raw 20-bit reading.</summary>
    public (double TFine, double Celsius) CompensateTemperature(int adcT)
    {
        double var1 = ((adcT / 16384.0) - (T1 / 1024.0)) * T2;
        double var2 = (adcT / 131072.0) - (T1 / 8192.0);
        var2 = var2 * var2 * (T3 * 16.0);
        double tFine = var1 + var2;
        return (tFine, tFine / 5120.0);
    }

    /// <summary>Pressure in Pa for a raw 20-bit reading.</summary>
    public double CompensatePressure(int adcP, double tFine)
    {
        double var1 = (tFine / 2.0) - 64000.0;
        double var2 = var1 * var1 * (P6 / 131072.0);
        var2 += var1 * P5 * 2.0;
        var2 = (var2 / 4.0) + (P4 * 65536.0);
        var1 = ((P3 * var1 * var1 / 16384.0) + (P2 * var1)) / 524288.0;
        var1 = (1.0 + (var1 / 32768.0)) * P1;
        if (var1 == 0)
        {
            return 0;
        }

        double p = 1048576.0 - adcP;
        p = (p - (var2 / 4096.0)) * 6250.0 / var1;
        var1 = P9 * p * p / 2147483648.0;
        var2 = p * (P8 / 32768.0);
        double var3 = (p / 256.0) * (p / 256.0) * (p / 256.0) * (P10 / 131072.0);
        return p + ((var1 + var2 + var3 + (P7 * 128.0)) / 16.0);
    }

    /// <summary>Relative humidity in % for a raw 16-bit reading, cropped to 0..100.</summary>
    public double CompensateHumidity(int adcH, double tFine)
    {
        double t = tFine / 5120.0;
        double var1 = adcH - ((H1 * 16.0) + (H3 / 2.0 * t));
        double var2 = var1 * (H2 / 262144.0 * (1.0 + (H4 / 16384.0 * t) + (H5 / 1048576.0 * t * t)));
        double var3 = H6 / 16384.0;
        double var4 = H7 / 2097152.0;
        return Math.Clamp(var2 + ((var3 + (var4 * t)) * var2 * var2), 0, 100);
    }

    /// <summary>Gas resistance in Ω for a 10-bit ADC code and gas range (§3.4.1).</summary>
    public double CompensateGas(int adc, int range)
    {
        double var1 = 1340.0 + (5.0 * RangeSwitchingError);
        double var2 = var1 * (1.0 + (K1[range] / 100.0));
        double var3 = 1.0 + (K2[range] / 100.0);
        return 1.0 / (var3 * 0.000000125 * (1 << range) * (((adc - 512.0) / var2) + 1.0));
    }

    /// <summary>The raw temperature, a multiple of <paramref name="step"/>, whose compensation is closest to <paramref name="celsius"/>.</summary>
    public int EncodeTemperature(double celsius, int step = 1) =>
        Bisect(adc => CompensateTemperature(adc).Celsius, celsius, (1 << 20) - 1, step, increasing: true);

    public int EncodePressure(double pascals, double tFine, int step = 1) =>
        Bisect(adc => CompensatePressure(adc, tFine), pascals, (1 << 20) - 1, step, increasing: false);

    public int EncodeHumidity(double percent, double tFine) =>
        Bisect(adc => CompensateHumidity(adc, tFine), percent, 0xFFFF, 1, increasing: true);

    /// <summary>
    /// The gas range and 10-bit code that express <paramref name="ohms"/> best. Each range spans a
    /// factor of about 2.2 and the next range halves the resistance, so ranges overlap; the one with
    /// the largest code in 0..1023 has the finest relative step. Out-of-span values saturate.
    /// </summary>
    public (int Adc, int Range) EncodeGas(double ohms)
    {
        // The code grows as the range falls; the lowest range whose code still fits gives the largest.
        for (int range = 0; range < 16; range++)
        {
            double var1 = 1340.0 + (5.0 * RangeSwitchingError);
            double var2 = var1 * (1.0 + (K1[range] / 100.0));
            double var3 = 1.0 + (K2[range] / 100.0);
            double adc = Math.Round(512.0 + (var2 * ((1.0 / (ohms * var3 * 0.000000125 * (1 << range))) - 1.0)));
            if (adc <= 1023)
            {
                return ((int)Math.Max(adc, 0), range);
            }
        }

        return (1023, 15);
    }

    private static int Bisect(Func<int, double> f, double target, int max, int step, bool increasing)
    {
        int lo = 0;
        int hi = max / step;
        while (hi - lo > 1)
        {
            int mid = lo + ((hi - lo) / 2);
            double v = f(mid * step);
            if (increasing ? v < target : v > target)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return Math.Abs(f(lo * step) - target) <= Math.Abs(f(hi * step) - target) ? lo * step : hi * step;
    }
}
