using SensorKit.Node.Pipeline;

namespace SensorKit.Benchmarks;

/// <summary>Reproducible readings with sensor-like noise, and a sink that only counts.</summary>
internal static class PipelineInputs
{
    public const int Length = 4096;

    public static readonly DateTimeOffset Start = new(2026, 7, 1, 0, 0, 0, TimeSpan.Zero);

    public static double[] Noisy(double mean, double noise, int seed)
    {
        var random = new Random(seed);
        var values = new double[Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = mean + (noise * ((random.NextDouble() * 2) - 1));
        }

        return values;
    }
}

internal sealed class CountingSink : IAggregateSink
{
    public long Count { get; private set; }

    public void Accept(ChannelId channel, in WindowAggregate aggregate) => Count++;
}
