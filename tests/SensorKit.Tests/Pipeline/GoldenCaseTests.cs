using System.Globalization;
using System.Text.Json;
using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Sensors;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Pipeline;

/// <summary>
/// Golden cases: a CSV of readings in, the aggregates that must come out. The expected values in
/// Golden/*.json were computed by Golden/make_expected.py in exact rational arithmetic, independently
/// of this code; the C# pipeline must match them to the last few bits.
/// </summary>
public sealed class GoldenCaseTests
{
    private static readonly string Folder = Path.Combine(RepoPaths.Root, "tests", "SensorKit.Tests", "Pipeline", "Golden");

    public static TheoryData<string> Cases() => new(Directory.GetFiles(Folder, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!);

    [Fact]
    public void The_cases_cover_the_edge_cases_the_pipeline_promises()
    {
        string[] names = Directory.GetFiles(Folder, "*.csv").Select(Path.GetFileNameWithoutExtension).ToArray()!;

        Assert.Superset(
            new HashSet<string> { "nan-and-infinity", "gaps-and-stale", "clock-backwards", "single-sample", "huge-values", "tiny-values", "constant", "large-offset" },
            names.ToHashSet());
        Assert.Equal(names.Order(), Directory.GetFiles(Folder, "*.json").Select(Path.GetFileNameWithoutExtension).Order());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Readings_give_the_expected_aggregates(string name)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name + ".json")));
        JsonElement c = doc.RootElement;
        TimeSpan interval = TimeSpan.Parse(c.GetProperty("interval").GetString()!, CultureInfo.InvariantCulture);
        var channel = new ChannelOptions
        {
            Window = TimeSpan.Parse(c.GetProperty("window").GetString()!, CultureInfo.InvariantCulture),
            StuckAfter = c.TryGetProperty("stuckAfter", out JsonElement s) ? s.GetInt32() : 0,
            Filters = c.TryGetProperty("filters", out JsonElement f) ? f.Deserialize<List<FilterOptions>>()! : [],
        };
        double[] range = c.TryGetProperty("range", out JsonElement r) ? r.Deserialize<double[]>()! : [double.NegativeInfinity, double.PositiveInfinity];
        var sensor = new SensorOptions { Id = "golden", Type = "test", Interval = interval, Channels = { ["x"] = channel } };
        SensorPipeline pipeline = PipelineFactory.Build("golden", [new ChannelSpec("x", "u", range[0], range[1])], sensor, new NodeOptions());
        ChannelPipeline x = Assert.Single(pipeline.Channels);
        var sink = new RecordingSink();

        foreach (string line in File.ReadAllLines(Path.Combine(Folder, name + ".csv")))
        {
            if (line.StartsWith('#') || line.StartsWith("time,", StringComparison.Ordinal) || line.Length == 0)
            {
                continue;
            }

            string[] cells = line.Split(',');
            long ticks = DateTimeOffset.Parse(cells[0], CultureInfo.InvariantCulture).UtcTicks;
            if (cells[1] == "error")
            {
                x.AddError(ticks, sink);
            }
            else
            {
                x.Add(ticks, double.Parse(cells[1], CultureInfo.InvariantCulture), sink);
            }
        }

        x.Flush(DateTimeOffset.Parse(c.GetProperty("flushAt").GetString()!, CultureInfo.InvariantCulture).UtcTicks, sink);

        JsonElement[] expected = c.GetProperty("expected").EnumerateArray().ToArray();
        Assert.Equal(expected.Length, sink.Aggregates.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            AssertAggregate(expected[i], sink.Aggregates[i], $"{name}[{i}]");
        }
    }

    private static void AssertAggregate(JsonElement e, WindowAggregate a, string where)
    {
        Assert.True(DateTimeOffset.Parse(e.GetProperty("start").GetString()!, CultureInfo.InvariantCulture) == a.Start, $"{where}.start: {a.Start:O}");
        Assert.True(DateTimeOffset.Parse(e.GetProperty("end").GetString()!, CultureInfo.InvariantCulture) == a.End, $"{where}.end: {a.End:O}");
        Assert.True(e.GetProperty("count").GetInt32() == a.Count, $"{where}.count: {a.Count}");
        Assert.True(e.GetProperty("expected").GetInt32() == a.Expected, $"{where}.expected: {a.Expected}");
        Assert.True(e.GetProperty("errors").GetInt32() == a.Errors, $"{where}.errors: {a.Errors}");
        Assert.True(e.GetProperty("suppressed").GetInt32() == a.Suppressed, $"{where}.suppressed: {a.Suppressed}");
        Assert.True(e.GetProperty("calibrated").GetBoolean() == a.Calibrated, $"{where}.calibrated: {a.Calibrated}");

        // Min, max, first and last are readings (or filter outputs) passed through: bit for bit.
        Exact(e, "min", a.Min, where);
        Exact(e, "max", a.Max, where);
        Exact(e, "first", a.First, where);
        Exact(e, "last", a.Last, where);

        Close(e, "mean", a.Mean, where);
        Close(e, "stddev", a.StdDev, where);
        Close(e, "ratePerHour", a.RatePerHour, where);
        Close(e, "rawMean", a.Filtered ? a.RawMean : double.NaN, where);

        string[] flags = e.GetProperty("flags").EnumerateArray().Select(x => x.GetString()!).ToArray();
        Assert.Equal(flags, ProtocolJson.FlagNames.Where(n => a.Flags.HasFlag(n.Flag)).Select(n => n.Name).ToArray());
    }

    private static void Exact(JsonElement e, string field, double actual, string where) =>
        Assert.True(e.GetProperty(field).GetDouble() == actual, $"{where}.{field}: expected {e.GetProperty(field).GetDouble():R}, got {actual:R}");

    /// <summary>Within 1e-12 of the exact value, relative; an exact 0 (constant input) must be exactly 0.</summary>
    private static void Close(JsonElement e, string field, double actual, string where)
    {
        JsonElement v = e.GetProperty(field);
        if (v.ValueKind == JsonValueKind.Null)
        {
            Assert.True(double.IsNaN(actual), $"{where}.{field}: expected none, got {actual:R}");
            return;
        }

        double expected = v.GetDouble();
        if (expected == 0)
        {
            Assert.True(actual == 0, $"{where}.{field}: expected exactly 0, got {actual:R}");
            return;
        }

        double error = Math.Abs(actual - expected) / Math.Abs(expected);
        Assert.True(error <= 1e-12, $"{where}.{field}: expected {expected:R}, got {actual:R} (relative error {error:E2})");
    }

    internal sealed class RecordingSink : IAggregateSink
    {
        public List<WindowAggregate> Aggregates { get; } = [];

        public List<ChannelId> Channels { get; } = [];

        public void Accept(ChannelId channel, in WindowAggregate aggregate)
        {
            Channels.Add(channel);
            Aggregates.Add(aggregate);
        }
    }
}
