using System.Text;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Gateway.Alerting;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;

namespace SensorKit.Tests.Gateway.Intake;

/// <summary>
/// The messages that used to stop the gateway for good: a number that parses as infinity, which reached rule state
/// and made the next state flush throw; and status fields of the wrong shape, which threw out of the reader.
/// </summary>
public sealed class PoisonMessageTests
{
    private const string Site = "test";

    /// <summary>Rules that keep history (rate of change, baseline) on each quantity the finding names.</summary>
    private const string Rules = """
        { "RateOfChange": [
            { "Id": "rise", "Quantity": "water-level", "Rise": 0.3, "Window": "00:30:00" },
            { "Id": "fall", "Quantity": "pressure", "Fall": 300, "Window": "03:00:00" } ],
          "Baseline": [ { "Id": "smoke", "Quantity": "gas-resistance", "DropPercent": 40, "Baseline": "06:00:00", "MinBaseline": "00:10:00" } ],
          "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35 } ] }
        """;

    private static string Window(string quantity, string sensor, string unit, string number, int minute) =>
        $$"""{"schema":"sensorkit.telemetry.v1","site":"{{Site}}","node":"n1","sensor":"{{sensor}}","quantity":"{{quantity}}","unit":"{{unit}}","seq":{{minute}},"start":"{{Day.AddMinutes(minute - 1):yyyy-MM-ddTHH:mm:ssZ}}","end":"{{Day.AddMinutes(minute):yyyy-MM-ddTHH:mm:ssZ}}","count":6,"expected":6,"errors":0,"min":{{number}},"max":{{number}},"mean":{{number}},"stddev":0,"first":{{number}},"last":{{number}},"quality":"good","flags":[],"backfill":false}""";

    public static TheoryData<string, string, string, string> Channels => new()
    {
        { Quantities.WaterLevel, "vl53l0x", "m", "1e400" },
        { Quantities.Pressure, "bme280", "Pa", "-1e400" },
        { Quantities.GasResistance, "bme680", "Ohm", "1e400" },
        { Quantities.Temperature, "bme280", "Cel", "1e400" },
    };

    [Theory]
    [MemberData(nameof(Channels))]
    public void A_non_finite_number_is_refused_with_its_field_named_and_the_state_flush_keeps_working(string quantity, string sensor, string unit, string poison)
    {
        using AlertingHarness h = Start(Rules);
        var logs = new List<string>();
        h.Status(Site, "n1");
        string topic = Topics.Telemetry(Site, "n1", sensor, quantity);
        for (int minute = 1; minute <= 20; minute++)
        {
            h.At(Day.AddMinutes(minute));
            Assert.True(h.Ingest.Handle(topic, Encoding.UTF8.GetBytes(Window(quantity, sensor, unit, "100", minute))));
        }

        h.At(Day.AddMinutes(21));
        Assert.False(h.Ingest.Handle(topic, Encoding.UTF8.GetBytes(Window(quantity, sensor, unit, poison, 21))));
        Assert.Equal(1, h.Ingest.RejectedBy[TelemetryIngest.Malformed]);
        Assert.True(ProtocolJson.TryReadTelemetry(Encoding.UTF8.GetBytes(Window(quantity, sensor, unit, poison, 21)), out _, out string error) is false);
        Assert.Contains("field 'min'", error, StringComparison.Ordinal);
        Assert.Contains("not a finite number", error, StringComparison.Ordinal);

        // The flush that used to throw (Utf8JsonWriter refuses infinity) now writes the state, and it restores.
        h.Engine.Flush();
        using AlertingHarness again = Restart(h, Rules, Day.AddMinutes(22));
        Assert.True(again.Ingest.Handle(topic, Encoding.UTF8.GetBytes(Window(quantity, sensor, unit, "100", 22))));
    }

    [Theory]
    [InlineData("\"location\":5")]
    [InlineData("\"location\":[50.9,6.9]")]
    [InlineData("\"outbox\":\"full\"")]
    [InlineData("\"outbox\":[]")]
    [InlineData("\"sensors\":[1]")]
    [InlineData("\"sensors\":[\"bme280\"]")]
    [InlineData("\"sensors\":{\"id\":\"bme280\"}")]
    [InlineData("\"location\":{\"lat\":1e400,\"lon\":6.9}")]
    [InlineData("\"location\":{\"lat\":95,\"lon\":6.9}")]
    [InlineData("\"uptimeSeconds\":-1e400")]
    [InlineData("\"firmware\":\"\\ud800\"")]
    public void A_status_field_of_the_wrong_shape_is_refused_not_thrown(string field)
    {
        using AlertingHarness h = Start(Rules);
        string payload = $$"""{"schema":"sensorkit.status.v1","site":"{{Site}}","node":"n1","state":"online","time":"2026-07-01T00:00:00Z",{{field}}}""";

        Assert.False(h.Ingest.Handle(Topics.Status(Site, "n1"), Encoding.UTF8.GetBytes(payload)));

        Assert.Equal(1, h.Ingest.RejectedBy[TelemetryIngest.Malformed]);
        Assert.False(h.Ingest.RejectedBy.ContainsKey(TelemetryIngest.HandlerFailure));
        Assert.False(h.Ingest.Nodes.ContainsKey((Site, "n1")));
    }

    [Theory]
    [InlineData("LOST")]
    [InlineData("Lost")]
    [InlineData("2")]
    [InlineData(" lost")]
    public void A_status_state_is_matched_exactly(string state)
    {
        using AlertingHarness h = Start(Rules);
        string payload = $$"""{"schema":"sensorkit.status.v1","site":"{{Site}}","node":"n1","state":"{{state}}","time":"2026-07-01T00:00:00Z"}""";

        Assert.False(h.Ingest.Handle(Topics.Status(Site, "n1"), Encoding.UTF8.GetBytes(payload)));
        Assert.True(h.Ingest.Handle(Topics.Status(Site, "n1"), Encoding.UTF8.GetBytes(payload.Replace($"\"state\":\"{state}\"", "\"state\":\"lost\"", StringComparison.Ordinal))));
    }

    [Theory]
    [InlineData("\"count\":6", "\"count\":2000000", "count")]
    [InlineData("\"errors\":0", "\"errors\":-1", "errors")]
    [InlineData("\"stddev\":0", "\"stddev\":-0.5", "stddev")]
    [InlineData("\"seq\":5", "\"seq\":-5", "seq")]
    [InlineData("\"end\":\"2026-07-01T00:05:00Z\"", "\"end\":\"9999-12-31T00:00:00Z\"", "end")]
    [InlineData("\"start\":\"2026-07-01T00:04:00Z\"", "\"start\":\"1970-01-01T00:00:00Z\"", "start")]
    [InlineData("\"start\":\"2026-07-01T00:04:00Z\"", "\"start\":\"2026-06-01T00:04:00Z\"", "end")]
    public void Sizes_counts_and_times_are_bounded(string from, string to, string field)
    {
        string good = Window(Quantities.Temperature, "bme280", "Cel", "20", 5);
        Assert.True(ProtocolJson.TryReadTelemetry(Encoding.UTF8.GetBytes(good), out _, out string none), none);

        Assert.False(ProtocolJson.TryReadTelemetry(Encoding.UTF8.GetBytes(good.Replace(from, to, StringComparison.Ordinal)), out _, out string error));
        Assert.Contains($"field '{field}'", error, StringComparison.Ordinal);
    }
}
