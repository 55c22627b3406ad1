using BenchmarkDotNet.Attributes;
using SensorKit.Node.Pipeline;

namespace SensorKit.Benchmarks;

/// <summary>Cost of the window statistics per sample (each benchmark runs 4096 samples; results are per sample).</summary>
[MemoryDiagnoser]
public class AggregateBenchmarks
{
    private readonly double[] _input = PipelineInputs.Noisy(100_000, 2, 2);
    private readonly WindowAggregator _aggregator = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
    private readonly SlidingTrend _trend15MinAt10s = new(TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(10));
    private readonly WindowStatistics _half;
    private long _ticks = PipelineInputs.Start.UtcTicks;

    public AggregateBenchmarks()
    {
        for (int i = 0; i < 100; i++)
        {
            _half.Add(i, _input[i]);
            _trend15MinAt10s.Add(_ticks + (i * TimeSpan.TicksPerSecond * 10), _input[i]);
        }
    }

    /// <summary>Count, min, max, first, last, mean, variance and slope: the Welford update.</summary>
    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double Statistics()
    {
        var s = default(WindowStatistics);
        for (int i = 0; i < _input.Length; i++)
        {
            s.Add(i, _input[i]);
        }

        return s.StdDev;
    }

    /// <summary>The tumbling window with quality counters; a window closes every 10 samples.</summary>
    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double TumblingWindow()
    {
        double sum = 0;
        for (int i = 0; i < _input.Length; i++)
        {
            _ticks += TimeSpan.TicksPerSecond;
            if (_aggregator.Add(new DateTimeOffset(_ticks, TimeSpan.Zero), _input[i], out WindowAggregate closed))
            {
                sum += closed.StdDev;
            }
        }

        return sum;
    }

    /// <summary>Add a sample to a 15-minute sliding window read every 10 s (90 samples) and take the least-squares slope.</summary>
    [Benchmark(OperationsPerInvoke = 256)]
    public double SlidingSlope15Min()
    {
        double sum = 0;
        for (int i = 0; i < 256; i++)
        {
            _ticks += TimeSpan.TicksPerSecond * 10;
            _trend15MinAt10s.Add(_ticks, _input[i]);
            _trend15MinAt10s.TryGetSlopePerHour(out double slope);
            sum += slope;
        }

        return sum;
    }

    /// <summary>Merging two windows of statistics.</summary>
    [Benchmark]
    public double Merge() => WindowStatistics.Merge(_half, _half).StdDev;
}
