using BenchmarkDotNet.Attributes;
using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Sensors;

namespace SensorKit.Benchmarks;

/// <summary>
/// The full chain per sample, from the reading entering the pipeline to the aggregate leaving it
/// (each benchmark runs 4096 reads; results are per read).
/// </summary>
[MemoryDiagnoser]
public class ChainBenchmarks
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly double[] _temperature = PipelineInputs.Noisy(21.5, 0.05, 3);
    private readonly double[] _humidity = PipelineInputs.Noisy(55, 0.5, 4);
    private readonly double[] _pressure = PipelineInputs.Noisy(100_000, 2, 5);
    private readonly double[] _values = new double[3];
    private readonly CountingSink _sink = new();
    private readonly ChannelPipeline _oneChannel;
    private readonly SensorPipeline _bme280Plain;
    private readonly SensorPipeline _bme280Full;
    private long _ticks = PipelineInputs.Start.UtcTicks;

    public ChainBenchmarks()
    {
        // One channel: range check, median of 5, exponential average, calibration, stuck check, 10 s window.
        var filters = new FilterChain([new RangeFilter(-40, 85, clamp: false), new MedianFilter(5), new ExponentialAverageFilter(0.3), new CalibrationFilter(1.02, -0.4)]);
        _oneChannel = new ChannelPipeline(
            new ChannelId("bme280", "temperature", "Cel"),
            new WindowAggregator(TimeSpan.FromSeconds(10), Interval) { Calibrated = true, Filtered = true },
            filters,
            -40,
            85,
            stuckAfter: 10,
            sampleInterval: Interval);

        _bme280Plain = Build(new SensorOptions { Id = "bme280", Type = "bme280", Interval = Interval });
        _bme280Full = Build(new SensorOptions
        {
            Id = "bme280",
            Type = "bme280",
            Interval = Interval,
            Channels =
            {
                ["temperature"] = new() { Filters = [new() { Kind = "median", Size = 5 }, new() { Kind = "calibration", Offset = -0.4 }], StuckAfter = 10 },
                ["humidity"] = new() { Filters = [new() { Kind = "range", Min = 0, Max = 100, Clamp = true }, new() { Kind = "exponential-average", Alpha = 0.3 }] },
                ["pressure"] = new() { Filters = [new() { Kind = "moving-average", Size = 4 }], StuckAfter = 10 },
            },
        });

        // Warm up past the 3-hour pressure history, so the tendency is computed in every read.
        for (int i = 0; i < (3 * 3600) + 600; i++)
        {
            Bme280Full();
        }
    }

    private static SensorPipeline Build(SensorOptions sensor) =>
        PipelineFactory.Build("bme280", SensorCatalog.Get("bme280").Channels, sensor, new NodeOptions { Window = TimeSpan.FromSeconds(10), Location = { Altitude = 53 } });

    /// <summary>One channel, full chain: the per-sample-per-channel figure.</summary>
    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public long OneChannelFullChain()
    {
        for (int i = 0; i < _temperature.Length; i++)
        {
            _ticks += TimeSpan.TicksPerSecond;
            _oneChannel.Add(_ticks, _temperature[i], _sink);
        }

        return _sink.Count;
    }

    /// <summary>A BME280 read without filters: 3 measured + 5 derived channels (dew point, absolute humidity, heat index, sea-level pressure, 3 h tendency).</summary>
    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public long Bme280NoFilters()
    {
        for (int i = 0; i < _temperature.Length; i++)
        {
            _ticks += TimeSpan.TicksPerSecond;
            _values[0] = _temperature[i];
            _values[1] = _humidity[i];
            _values[2] = _pressure[i];
            _bme280Plain.Add(new DateTimeOffset(_ticks, TimeSpan.Zero), _values, _sink);
        }

        return _sink.Count;
    }

    /// <summary>A BME280 read with filters on all 3 measured channels, and the 5 derived channels.</summary>
    [Benchmark(OperationsPerInvoke = PipelineInputs.Length)]
    public long Bme280WithFilters()
    {
        for (int i = 0; i < _temperature.Length; i++)
        {
            Bme280Full();
        }

        return _sink.Count;
    }

    private void Bme280Full()
    {
        _ticks += TimeSpan.TicksPerSecond;
        int i = (int)((_ticks / TimeSpan.TicksPerSecond) % PipelineInputs.Length);
        _values[0] = _temperature[i];
        _values[1] = _humidity[i];
        _values[2] = _pressure[i];
        _bme280Full.Add(new DateTimeOffset(_ticks, TimeSpan.Zero), _values, _sink);
    }
}
