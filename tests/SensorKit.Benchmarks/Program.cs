using BenchmarkDotNet.Running;
using SensorKit.Benchmarks;

// "alert-latency" is a load run against a real gateway, not a BenchmarkDotNet benchmark (docs/performance.md).
if (args.Length > 0 && args[0] == "alert-latency")
{
    return await AlertLatencyRun.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
