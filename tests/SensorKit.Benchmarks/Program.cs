using System.Globalization;
using BenchmarkDotNet.Running;
using SensorKit.Benchmarks;

// Two measurements on real time are not BenchmarkDotNet benchmarks (docs/performance.md):
// "jitter [interval-ms] [ticks]" times the sampling schedule; "alert-latency ..." loads a real gateway.
if (args.Length > 0 && args[0] == "jitter")
{
    double ms = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 100;
    int ticks = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 600;
    await SamplingJitter.RunAsync(TimeSpan.FromMilliseconds(ms), ticks);
    return 0;
}

if (args.Length > 0 && args[0] == "alert-latency")
{
    return await AlertLatencyRun.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] is "fuzz" or "packet-fuzz" or "burst" or "throughput")
{
    return args[0] switch
    {
        "fuzz" => await IntakeRuns.FuzzAsync(args[1..]),
        "packet-fuzz" => await IntakeRuns.PacketFuzzAsync(args[1..]),
        "burst" => await IntakeRuns.BurstAsync(args[1..]),
        _ => await IntakeRuns.ThroughputAsync(args[1..]),
    };
}

if (args.Length > 0 && args[0] == "soak")
{
    return await SensorKit.Benchmarks.Soak.SoakRun.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] is "history-size" or "history-generate")
{
    return args[0] == "history-size" ? HistoryRuns.Size(args[1..]) : HistoryRuns.Generate(args[1..]);
}

if (args.Length > 0 && args[0] is "group-takeover" or "group-load")
{
    return args[0] == "group-takeover" ? await SensorKit.Benchmarks.Group.GroupRuns.TakeoverAsync(args[1..]) : await SensorKit.Benchmarks.Group.GroupRuns.LoadAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "opendata-query")
{
    return await OpenDataRuns.QueryAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
