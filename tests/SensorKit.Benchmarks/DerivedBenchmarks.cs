using BenchmarkDotNet.Attributes;
using SensorKit.Node.Pipeline;

namespace SensorKit.Benchmarks;

/// <summary>Cost of each derived-quantity formula per evaluation (4096 inputs per benchmark).</summary>
[MemoryDiagnoser]
public class DerivedBenchmarks
{
    private readonly double[] _temperature = PipelineInputs.Noisy(30, 5, 6);
    private readonly double[] _humidity = PipelineInputs.Noisy(60, 20, 7);
    private readonly double[] _pressure = PipelineInputs.Noisy(100_000, 500, 8);

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double DewPoint()
    {
        double sum = 0;
        for (int i = 0; i < _temperature.Length; i++)
        {
            sum += Meteorology.DewPoint(_temperature[i], _humidity[i]);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double AbsoluteHumidity()
    {
        double sum = 0;
        for (int i = 0; i < _temperature.Length; i++)
        {
            sum += Meteorology.AbsoluteHumidity(_temperature[i], _humidity[i]);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double HeatIndex()
    {
        double sum = 0;
        for (int i = 0; i < _temperature.Length; i++)
        {
            sum += Meteorology.HeatIndex(_temperature[i], _humidity[i]);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public double SeaLevelPressure()
    {
        double sum = 0;
        for (int i = 0; i < _temperature.Length; i++)
        {
            sum += Meteorology.SeaLevelPressure(_pressure[i], 53, _temperature[i]);
        }

        return sum;
    }
}
