using BenchmarkDotNet.Attributes;
using SensorKit.Node.Pipeline;

namespace SensorKit.Benchmarks;

/// <summary>Cost of each filter per value (each benchmark runs 4096 values; results are per value).</summary>
[MemoryDiagnoser]
public class FilterBenchmarks
{
    private readonly double[] _input = PipelineInputs.Noisy(21.5, 0.05, 1);
    private readonly RangeFilter _range = new(-40, 85, clamp: false);
    private readonly MedianFilter _median5 = new(5);
    private readonly MovingAverageFilter _movingAverage8 = new(8);
    private readonly ExponentialAverageFilter _exponential = new(0.3);
    private readonly DeadbandFilter _deadband = new(0.05);
    private readonly CalibrationFilter _calibration = new(1.02, -0.4);

    private double Run(SampleFilter filter)
    {
        double sum = 0;
        foreach (double x in _input)
        {
            double v = x;
            filter.Apply(ref v);
            sum += v;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double Range() => Run(_range);

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double Median5() => Run(_median5);

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double MovingAverage8() => Run(_movingAverage8);

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double ExponentialAverage() => Run(_exponential);

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double Deadband() => Run(_deadband);

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double Calibration() => Run(_calibration);
}
