using System.Text;
using SensorKit.Protocol;

namespace SensorKit.Tests.Protocol;

/// <summary>Every field of every message survives a write and a read unchanged.</summary>
public sealed class ProtocolJsonTests
{
    [Fact]
    public void Telemetry_round_trips_every_field()
    {
        using var buffer = new PayloadBuffer();
        TelemetryMessage sent = Samples.Telemetry();

        Assert.True(ProtocolJson.TryReadTelemetry(buffer.Telemetry(sent).Span, out TelemetryMessage read, out string error), error);

        Assert.Equal(sent, read);
    }

    [Fact]
    public void Telemetry_times_are_rfc3339_utc_with_z_and_quality_follows_flags()
    {
        using var buffer = new PayloadBuffer();
        string json = Encoding.UTF8.GetString(buffer.Telemetry(Samples.Telemetry() with { WindowStart = new DateTimeOffset(2026, 7, 1, 14, 0, 0, TimeSpan.FromHours(2)) }).Span);

        Assert.Contains("\"start\":\"2026-07-01T12:00:00Z\"", json, StringComparison.Ordinal);
        Assert.Contains("\"quality\":\"doubtful\"", json, StringComparison.Ordinal);
        Assert.Contains("\"flags\":[\"gaps\",\"read-errors\",\"out-of-range\",\"stuck\",\"stale\"]", json, StringComparison.Ordinal);

        string good = Encoding.UTF8.GetString(buffer.Telemetry(Samples.Telemetry() with { Flags = QualityFlags.None }).Span);
        Assert.Contains("\"quality\":\"good\",\"flags\":[]", good, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_round_trips_every_field()
    {
        using var buffer = new PayloadBuffer();
        NodeStatusMessage sent = Samples.Status();

        Assert.True(ProtocolJson.TryReadStatus(buffer.Status(sent).Span, out NodeStatusMessage? read, out string error), error);

        Assert.Equal(sent with { Sensors = [] }, read with { Sensors = [] });
        Assert.Equal(sent.Sensors, read.Sensors);
        Assert.Contains("\"address\":\"0x76\"", Encoding.UTF8.GetString(buffer.Status(sent).Span), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(NodeState.Online, "online")]
    [InlineData(NodeState.Offline, "offline")]
    [InlineData(NodeState.Lost, "lost")]
    public void Status_states_have_their_wire_names(NodeState state, string name)
    {
        using var buffer = new PayloadBuffer();
        string json = Encoding.UTF8.GetString(buffer.Status(Samples.Status() with { State = state }).Span);

        Assert.Contains($"\"state\":\"{name}\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Alert_round_trips_every_field()
    {
        using var buffer = new PayloadBuffer();
        AlertMessage sent = Samples.Alert();

        Assert.True(ProtocolJson.TryReadAlert(buffer.Alert(sent).Span, out AlertMessage? read, out string error), error);

        Assert.Equal(sent with { Nodes = [] }, read with { Nodes = [] });
        Assert.Equal(sent.Nodes, read.Nodes);
    }

    [Fact]
    public void Non_finite_numbers_are_written_as_null_and_rejected_on_read()
    {
        using var buffer = new PayloadBuffer();
        ReadOnlyMemory<byte> json = buffer.Telemetry(Samples.Telemetry() with { StdDev = double.NaN });

        Assert.Contains("\"stddev\":null", Encoding.UTF8.GetString(json.Span), StringComparison.Ordinal);
        Assert.False(ProtocolJson.TryReadTelemetry(json.Span, out _, out string error));
        Assert.Contains("field 'stddev'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sensorkit/v1/site-a/node-1/telemetry/bme280/temperature", true)]
    [InlineData("sensorkit/v1/site-a/node-1/telemetry/bme280", false)]
    [InlineData("sensorkit/v1/site-a/node+/telemetry/bme280/temperature", false)]
    [InlineData("sensorkit/v2/site-a/node-1/telemetry/bme280/temperature", false)]
    [InlineData("sensorkit/v1/site-a/node-1/status/bme280/temperature", false)]
    public void Telemetry_topics_parse_only_when_well_formed(string topic, bool ok)
    {
        Assert.Equal(ok, Topics.TryParseTelemetry(topic, out _));
    }
}
