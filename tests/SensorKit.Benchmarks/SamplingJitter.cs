using System.Device.I2c;
using System.Diagnostics;
using System.Globalization;
using SensorKit.Node.Sensors.Bme280;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Bme280;

namespace SensorKit.Benchmarks;

/// <summary>
/// Measures how late the sampler's schedule fires on real time: a <see cref="PeriodicTimer"/> on
/// <see cref="TimeProvider.System"/>, as in SamplingService, with a real BME280 driver read against
/// the emulator on every tick. Lateness is the tick's time minus its ideal time start + k·interval,
/// so drift would show as growing lateness. Not a BenchmarkDotNet benchmark: it measures wall time.
/// </summary>
internal static class SamplingJitter
{
    public static async Task RunAsync(TimeSpan interval, int ticks)
    {
        var chip = new Bme280Emulator();
        using var adapter = new Bme280Adapter(new EmulatedI2cDevice(chip, new I2cConnectionSettings(1, chip.Address)));
        double[] values = new double[3];
        var lateness = new double[ticks];
        using var timer = new PeriodicTimer(interval, TimeProvider.System);
        long start = Stopwatch.GetTimestamp();
        for (int k = 1; k <= ticks; k++)
        {
            await timer.WaitForNextTickAsync();
            double ideal = k * interval.TotalMilliseconds;
            lateness[k - 1] = Stopwatch.GetElapsedTime(start).TotalMilliseconds - ideal;
            adapter.Read(values);
        }

        double[] sorted = lateness.Order().ToArray();
        double P(double q) => sorted[(int)Math.Min(sorted.Length - 1, Math.Round(q * (sorted.Length - 1)))];
        double lastTen = lateness[^Math.Min(10, ticks)..].Average();
        double firstTen = lateness[..Math.Min(10, ticks)].Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"interval {interval.TotalMilliseconds} ms, {ticks} ticks: lateness p50 {P(0.5):0.000} ms, p99 {P(0.99):0.000} ms, max {sorted[^1]:0.000} ms, min {sorted[0]:0.000} ms; mean of first 10 {firstTen:0.000} ms, of last 10 {lastTen:0.000} ms (drift would make the last larger)"));
    }
}
