using System.Globalization;
using BenchmarkDotNet.Running;
using SensorKit.Benchmarks;

// "jitter [interval-ms] [ticks]" measures the sampling schedule on real time; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "jitter")
{
    double ms = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 100;
    int ticks = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 600;
    await SamplingJitter.RunAsync(TimeSpan.FromMilliseconds(ms), ticks);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
