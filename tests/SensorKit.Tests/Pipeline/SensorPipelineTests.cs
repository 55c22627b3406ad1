using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Sensors;
using SensorKit.Protocol;

namespace SensorKit.Tests.Pipeline;

/// <summary>A sensor's channels with their derived quantities, fed as the sampling service does.</summary>
public sealed class SensorPipelineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 7, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static SensorPipeline Bme280(Action<SensorOptions>? configure = null, double? altitude = 53, TimeSpan? interval = null, TimeSpan? window = null)
    {
        var sensor = new SensorOptions { Id = "air", Type = "bme280", Interval = interval ?? Second };
        configure?.Invoke(sensor);
        var node = new NodeOptions { Window = window ?? TimeSpan.FromSeconds(10), Location = { Altitude = altitude } };
        return PipelineFactory.Build("air", SensorCatalog.Get("bme280").Channels, sensor, node);
    }

    private static Dictionary<string, WindowAggregate> Last(GoldenCaseTests.RecordingSink sink) =>
        sink.Channels.Zip(sink.Aggregates).GroupBy(x => x.First.Quantity).ToDictionary(g => g.Key, g => g.Last().Second);

    [Fact]
    public void Bme280_publishes_its_derived_quantities_as_channels_of_their_own()
    {
        SensorPipeline pipeline = Bme280();

        Assert.Equal(
            ["temperature", "humidity", "pressure", "dew-point", "absolute-humidity", "heat-index", "sea-level-pressure", "pressure-tendency-3h"],
            pipeline.Channels.Select(c => c.Id.Quantity));
        Assert.Equal(["Cel", "%RH", "Pa", "Cel", "g/m3", "Cel", "Pa", "Pa"], pipeline.Channels.Select(c => c.Id.Unit));
        Assert.All(pipeline.Channels, c => Assert.Equal("air", c.Id.Sensor));
    }

    [Fact]
    public void Without_a_station_altitude_there_is_no_sea_level_pressure()
    {
        Assert.DoesNotContain(Bme280(altitude: null).Channels, c => c.Id.Quantity == Quantities.SeaLevelPressure);
    }

    [Fact]
    public void Derived_values_use_the_filtered_inputs_of_the_same_read()
    {
        SensorPipeline pipeline = Bme280(s => s.Channels["temperature"] = new() { Filters = [new() { Kind = "calibration", Offset = -1 }] });
        var sink = new GoldenCaseTests.RecordingSink();
        for (int i = 0; i <= 10; i++)
        {
            pipeline.Add(T0 + (i * Second), [33, 60, 101_000], sink);
        }

        Dictionary<string, WindowAggregate> a = Last(sink);
        Assert.Equal(32, a["temperature"].Mean);
        Assert.Equal(33, a["temperature"].RawMean);
        Assert.True(a["temperature"].Calibrated);
        Assert.False(a["humidity"].Calibrated);
        Assert.Equal(Meteorology.DewPoint(32, 60), a["dew-point"].Mean, 12);
        Assert.Equal(Meteorology.HeatIndex(32, 60), a["heat-index"].Mean, 12);
        Assert.Equal(Meteorology.AbsoluteHumidity(32, 60), a["absolute-humidity"].Mean, 12);
        Assert.Equal(Meteorology.SeaLevelPressure(101_000, 53, 32), a["sea-level-pressure"].Mean, 9);
        Assert.Equal(10, a["heat-index"].Count);
        Assert.DoesNotContain("pressure-tendency-3h", a.Keys);
    }

    [Fact]
    public void A_failed_read_is_an_error_in_every_channel_including_derived()
    {
        SensorPipeline pipeline = Bme280();
        var sink = new GoldenCaseTests.RecordingSink();
        pipeline.Add(T0, [20, 50, 100_000], sink);
        pipeline.AddError(T0 + Second, sink);
        pipeline.Add(T0 + (2 * Second), [double.NaN, 50, 100_000], sink);
        pipeline.Flush(T0 + (10 * Second), sink);

        Dictionary<string, WindowAggregate> a = Last(sink);
        Assert.Equal(2, a["temperature"].Errors);
        Assert.Equal(1, a["temperature"].Count);
        Assert.Equal(1, a["pressure"].Errors);
        // The NaN temperature leaves the dew point without an input in that read.
        Assert.Equal(2, a["dew-point"].Errors);
        Assert.True(a["dew-point"].Flags.HasFlag(QualityFlags.ReadErrors));
    }

    [Fact]
    public void Pressure_tendency_is_the_change_over_the_last_3_hours()
    {
        // A storm: pressure falls 10 hPa in 3 h, linearly; read once a minute, 10-minute windows.
        TimeSpan minute = TimeSpan.FromMinutes(1);
        SensorPipeline pipeline = Bme280(interval: minute, window: TimeSpan.FromMinutes(10));
        var sink = new GoldenCaseTests.RecordingSink();
        for (int i = 0; i <= 5 * 60; i++)
        {
            pipeline.Add(T0 + (i * minute), [15, 80, 101_200 - (i * 1000.0 / 180)], sink);
        }

        WindowAggregate[] tendency = sink.Channels.Zip(sink.Aggregates).Where(x => x.First.Quantity == Quantities.PressureTendency3h).Select(x => x.Second).ToArray();

        // Nothing in the first 3 hours (no history), then −1000 Pa per 3 h for every window after.
        Assert.True(tendency.Length >= 10, $"{tendency.Length} windows");
        Assert.True(tendency[0].Start >= T0 + TimeSpan.FromHours(3));
        Assert.All(tendency, w => Assert.Equal(-1000, w.Mean, 6));
    }

    [Fact]
    public void Water_level_and_its_rate_over_a_sliding_15_minutes()
    {
        // A river rising 30 cm per hour under a sensor mounted 4 m above the gauge datum.
        TimeSpan interval = TimeSpan.FromSeconds(10);
        var sensor = new SensorOptions
        {
            Id = "river",
            Type = "distance",
            Interval = interval,
            MountingHeight = 4.0,
            Channels = { ["water-level"] = new() { Rate = TimeSpan.FromMinutes(15) } },
        };
        SensorPipeline pipeline = PipelineFactory.Build("river", [new ChannelSpec(Quantities.Distance, Units.Metre, 0, 8)], sensor, new NodeOptions { Window = TimeSpan.FromMinutes(1) });
        var sink = new GoldenCaseTests.RecordingSink();
        for (int i = 0; i <= 6 * 30; i++)
        {
            double level = 1.5 + (0.3 * i * 10 / 3600);
            pipeline.Add(T0 + (i * interval), [4.0 - level], sink);
        }

        Assert.Equal(["distance", "water-level", "water-level-rate"], pipeline.Channels.Select(c => c.Id.Quantity));
        Assert.Equal("m/h", pipeline.Channels[2].Id.Unit);
        Dictionary<string, WindowAggregate> a = Last(sink);
        // The last closed window holds readings 174…179, at 29:00…29:50.
        Assert.Equal(1.5 + (0.3 * 176.5 * 10 / 3600), a["water-level"].Mean, 9);
        Assert.Equal(0.3, a["water-level"].RatePerHour, 9);
        Assert.Equal(0.3, a["water-level-rate"].Mean, 9);
        Assert.Equal(0.3, a["water-level-rate"].Min, 9);
    }

    [Fact]
    public void A_reading_that_repeats_is_flagged_stuck_and_a_silent_end_stale()
    {
        SensorPipeline pipeline = Bme280(s => s.Channels["pressure"] = new() { StuckAfter = 5 });
        var sink = new GoldenCaseTests.RecordingSink();
        for (int i = 0; i < 6; i++)
        {
            pipeline.Add(T0 + (i * Second), [20 + (i * 0.01), 50 + (i * 0.1), 100_000], sink);
        }

        pipeline.Flush(T0 + (10 * Second), sink);

        Dictionary<string, WindowAggregate> a = Last(sink);
        Assert.Equal(QualityFlags.Stuck | QualityFlags.Gaps | QualityFlags.Stale, a["pressure"].Flags);
        Assert.Equal(QualityFlags.Gaps | QualityFlags.Stale, a["temperature"].Flags);
        Assert.Equal(0, a["pressure"].StdDev);
    }

    [Fact]
    public void A_disabled_channel_still_feeds_derived_quantities_but_is_not_published()
    {
        SensorPipeline pipeline = Bme280(s => s.Channels["humidity"] = new() { Enabled = false });
        var sink = new GoldenCaseTests.RecordingSink();
        for (int i = 0; i <= 10; i++)
        {
            pipeline.Add(T0 + (i * Second), [25, 40, 100_000], sink);
        }

        Assert.DoesNotContain(sink.Channels, c => c.Quantity == "humidity");
        Assert.Contains(sink.Channels, c => c.Quantity == "dew-point");
    }

    [Fact]
    public void A_deadband_holds_the_value_for_derived_quantities()
    {
        SensorPipeline pipeline = Bme280(s => s.Channels["temperature"] = new() { Filters = [new() { Kind = "deadband", Delta = 0.5 }] });
        var sink = new GoldenCaseTests.RecordingSink();
        for (int i = 0; i <= 10; i++)
        {
            pipeline.Add(T0 + (i * Second), [25 + (i % 2 * 0.1), 40, 100_000], sink);
        }

        Dictionary<string, WindowAggregate> a = Last(sink);
        Assert.Equal(1, a["temperature"].Count);
        Assert.Equal(9, a["temperature"].Suppressed);
        Assert.Equal(QualityFlags.None, a["temperature"].Flags);
        Assert.Equal(10, a["dew-point"].Count);
        Assert.Equal(Meteorology.DewPoint(25, 40), a["dew-point"].Max, 12);
    }
}
