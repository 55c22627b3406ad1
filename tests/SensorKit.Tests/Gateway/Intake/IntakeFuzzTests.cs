using System.Text;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Gateway.Alerting;
using SensorKit.Tests.Support;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;

namespace SensorKit.Tests.Gateway.Intake;

/// <summary>
/// A seeded flood of hostile payloads with real threshold crossings hidden inside: nothing throws, every crossing
/// raises its alert, and the state still flushes. The benchmark command <c>fuzz</c> runs the same with 10^6.
/// </summary>
public sealed class IntakeFuzzTests
{
    private const string Site = "test";
    private const string Rules = """{ "Threshold": [ { "Id": "heat", "Quantity": "temperature", "Above": 35 } ] }""";

    [Fact]
    public void Twenty_thousand_hostile_payloads_hide_none_of_fifty_threshold_crossings()
    {
        const int Payloads = 20_000;
        const int Canaries = 50;
        using AlertingHarness h = Start(Rules);
        var fuzz = new PayloadFuzzer(seed: 20261201, Site, Day);
        foreach (string node in fuzz.Nodes)
        {
            Assert.True(h.Ingest.Handle(Topics.Status(Site, node), Encoding.UTF8.GetBytes(PayloadFuzzer.Status(Site, node))));
        }

        for (int c = 0; c < Canaries; c++)
        {
            Assert.True(h.Ingest.Handle(Topics.Status(Site, $"canary-{c}"), Encoding.UTF8.GetBytes(PayloadFuzzer.Status(Site, $"canary-{c}"))));
        }

        DateTimeOffset now = Day.AddMinutes(1000);
        h.At(now);
        int canary = 0;
        for (int i = 0; i < Payloads; i++)
        {
            (string topic, byte[] payload) = fuzz.Next();
            h.Ingest.Handle(topic, payload);
            if (i % (Payloads / Canaries) == Payloads / Canaries / 2)
            {
                string node = $"canary-{canary++}";
                Assert.True(h.Ingest.Handle(Topics.Telemetry(Site, node, "bme280", Quantities.Temperature), Encoding.UTF8.GetBytes(PayloadFuzzer.Valid(Site, node, 40, now, 1))));
            }
        }

        h.Engine.Flush();
        Assert.Equal(Canaries, canary);
        Assert.False(h.Ingest.RejectedBy.ContainsKey(TelemetryIngest.HandlerFailure), "a payload tripped the handler");
        // Random damage leaves some messages valid (a changed digit); those only touch the fuzz-* nodes.
        Assert.True(h.Ingest.Rejected > Payloads * 8 / 10, $"only {h.Ingest.Rejected} of {Payloads} refused");
        var raised = h.Alerts.Where(a => a.State == AlertState.Raised && a.Subject.StartsWith("canary-", StringComparison.Ordinal)).Select(a => a.Subject).ToHashSet();
        Assert.Equal(Canaries, raised.Count);
    }
}
