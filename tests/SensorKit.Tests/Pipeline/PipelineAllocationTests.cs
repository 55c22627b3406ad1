using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Sensors;
using SensorKit.Protocol;
using SensorKit.Tests.Protocol;

namespace SensorKit.Tests.Pipeline;

/// <summary>The node runs for months on a small Pi: the per-sample path and the serialiser produce no garbage.</summary>
public sealed class PipelineAllocationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 7, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A BME280 with a filter on every channel, every derived quantity, and a rate channel.</summary>
    internal static SensorPipeline Bme280Pipeline(TimeSpan interval, TimeSpan window)
    {
        var sensor = new SensorOptions
        {
            Id = "bme280",
            Type = "bme280",
            Interval = interval,
            Channels =
            {
                ["temperature"] = new() { Filters = [new() { Kind = "median", Size = 5 }, new() { Kind = "calibration", Offset = -0.4 }], StuckAfter = 10 },
                ["humidity"] = new() { Filters = [new() { Kind = "range", Min = 0, Max = 100, Clamp = true }, new() { Kind = "exponential-average", Alpha = 0.3 }] },
                ["pressure"] = new() { Filters = [new() { Kind = "moving-average", Size = 4 }], Rate = TimeSpan.FromMinutes(15), StuckAfter = 10 },
            },
        };
        var node = new NodeOptions { Window = window, Location = { Altitude = 53 } };
        return PipelineFactory.Build("bme280", SensorCatalog.Get("bme280").Channels, sensor, node);
    }

    private sealed class CountingSink : IAggregateSink
    {
        public int Count;
        public double Checksum;

        public void Accept(ChannelId channel, in WindowAggregate aggregate)
        {
            Count++;
            Checksum += aggregate.Mean;
        }
    }

    private static void Feed(SensorPipeline pipeline, CountingSink sink, double[] values, int from, int count, TimeSpan interval)
    {
        for (int i = from; i < from + count; i++)
        {
            values[0] = 21 + (0.01 * (i % 17));
            values[1] = 55 + (0.1 * (i % 13));
            values[2] = 100_000 + (0.5 * (i % 11));
            pipeline.Add(T0 + (interval * i), values, sink);
        }
    }

    [Fact]
    public void Steady_state_allocates_nothing_per_sample_from_reading_to_aggregate()
    {
        TimeSpan interval = TimeSpan.FromSeconds(1);
        SensorPipeline pipeline = Bme280Pipeline(interval, TimeSpan.FromSeconds(10));
        var sink = new CountingSink();
        double[] values = new double[3];

        // Warm-up: fills filter windows, the 15-minute trend and 3 h of pressure history, and lets the JIT settle.
        const int warmUp = (3 * 3600) + 1200;
        Feed(pipeline, sink, values, 0, warmUp, interval);
        int aggregatesBefore = sink.Count;

        long before = GC.GetAllocatedBytesForCurrentThread();
        Feed(pipeline, sink, values, warmUp, 100_000, interval);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // 10 000 windows closed on each of the 3 measured and 6 derived channels while measuring.
        Assert.Equal(100_000 / 10 * 9, sink.Count - aggregatesBefore);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Serialising_a_telemetry_message_allocates_nothing()
    {
        using var buffer = new PayloadBuffer();
        TelemetryMessage message = Samples.Telemetry();
        int length = 0;
        for (int i = 0; i < 100; i++)
        {
            length += buffer.Telemetry(message with { Sequence = i }).Length;
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            length += buffer.Telemetry(message with { Sequence = i, Mean = 31.5 + (i * 1e-3) }).Length;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(length > 0);
        Assert.Equal(0, allocated);
    }
}
