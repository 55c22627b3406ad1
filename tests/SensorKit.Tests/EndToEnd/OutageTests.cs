using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Node.Publishing;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.EndToEnd;

/// <summary>
/// The uplink fails first: a node in-process against a broker the test stops and starts again.
/// Nothing produced is lost, the backlog comes back paced and marked, alerts overtake it, and a
/// full outbox drops only the oldest telemetry.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class OutageTests
{
    private const string Node = "out-1";

    [Fact]
    public async Task After_an_outage_every_sequence_arrives_once_alerts_first_and_the_backlog_paced_and_marked()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        TestBroker broker = await TestBroker.StartAsync(port);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        // Windows of 100 ms: 100 windows of outage are 100 minutes of a node on the default 60 s window.
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig(Node, port, window: "00:00:00.100", interval: "00:00:00.050");
        config["Outbox:ReplayRate"] = "100";
        var logs = new LogCollector();
        using IHost node = Hosts.Node(config, s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        IOutbox outbox = node.Services.GetRequiredService<IOutbox>();
        await node.StartAsync(ct);
        try
        {
            await probe.WaitForAsync(IsTelemetry, TimeSpan.FromSeconds(20), "live telemetry before the outage");

            // The outage: first the uplink, then the broker goes; the node keeps sampling into its outbox.
            // (The broker goes only once it has passed on what it acknowledged: MQTTnet's broker keeps
            // nothing across a stop, and what a broker loses after its PUBACK is not the node's to resend.)
            int linesBeforeCut = logs.Lines.Count;
            await broker.CutNodesAsync();
            var outage = Stopwatch.StartNew();
            long firstInOutage = outbox.NextSequence;

            // The set of acknowledged records is final only once the publisher has noticed the cut (it logs
            // the lost connection or its first failed reconnect): a PUBACK that was already on its way can
            // still settle a record until then, and the broker must not be stopped before it passed that one on.
            await Wait.UntilAsync(
                () => logs.Lines.Skip(linesBeforeCut).Any(l => l.Message.StartsWith("MQTT connection lost", StringComparison.Ordinal) || l.Message.StartsWith("Cannot connect to MQTT broker", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(10),
                "the node to notice the cut");
            await Wait.UntilAsync(() => ContiguousFrom1(probe, Waiting(outbox)) >= outbox.NextSequence - 1, TimeSpan.FromSeconds(10), "the subscriber to have what the broker acknowledged");
            await broker.DisposeAsync();
            await Wait.UntilAsync(() => outbox.NextSequence - firstInOutage >= 300, TimeSpan.FromSeconds(60), "300 records during the outage");
            long[] alerts = [AppendAlert(outbox, "flood"), AppendAlert(outbox, "storm")];
            long lastInOutage = outbox.NextSequence - 1;

            // The broker returns; the subscriber is back before the node may connect.
            broker = await TestBroker.StartAsync(port, gateOpen: false);
            await probe.ReconnectAsync(TimeSpan.FromSeconds(10));
            broker.OpenGate();
            outage.Stop();

            await Wait.UntilAsync(() => ContiguousFrom1(probe, alerts) > lastInOutage + 30, TimeSpan.FromSeconds(60), "the backlog and newer windows", () => $"contiguous up to {ContiguousFrom1(probe, alerts)} of {lastInOutage}; received {Describe(probe)}; node attempts {broker.NodeConnectAttempts}, queued {outbox.Figures.Queued}; unreadable: {Unreadable(probe)}; log: {string.Join(" | ", logs.Lines.Select(l => l.Message))}");
            await node.StopAsync(CancellationToken.None);
            long last = outbox.NextSequence - 1;
            // A clean stop sends what it can in 3 s; anything left stays in the outbox for the next start.
            List<long> left = Waiting(outbox);
            await Wait.UntilAsync(() => ContiguousFrom1(probe, [.. alerts, .. left]) >= last, TimeSpan.FromSeconds(10), "every sequence up to the last one", () => $"contiguous up to {ContiguousFrom1(probe, alerts)} of {last}, waiting {string.Join(",", left)}");

            List<(MqttProbe.Received Raw, TelemetryMessage Message)> received = Telemetry(probe);
            long[] distinct = received.Select(r => r.Message.Sequence).Concat(alerts).Concat(left).Distinct().Order().ToArray();
            int duplicates = received.Count - received.Select(r => r.Message.Sequence).Distinct().Count();

            // Nothing lost: after dedupe, every number from 1 to the last exactly once (received, or still waiting on disk).
            Assert.Equal(Enumerable.Range(1, (int)last).Select(i => (long)i), distinct);

            // Two streams, each in order after dedupe (QoS 1 may deliver a message twice): live windows, and the backfilled backlog.
            long[] live = received.Where(r => !r.Message.Backfill).Select(r => r.Message.Sequence).Distinct().ToArray();
            var backfill = received.Where(r => r.Message.Backfill).ToList();
            long[] backfillSequences = backfill.Select(b => b.Message.Sequence).Distinct().ToArray();
            Assert.Equal(live.Order(), live);
            Assert.Equal(backfillSequences.Order(), backfillSequences);

            // Everything produced while the broker was away came back marked as backfill.
            var backfilled = backfill.Select(b => b.Message.Sequence).ToHashSet();
            Assert.All(
                Enumerable.Range((int)firstInOutage + 1, (int)(lastInOutage - firstInOutage)).Select(i => (long)i).Except(alerts),
                seq => Assert.Contains(seq, backfilled));

            // Alerts overtook the backlog.
            IReadOnlyList<MqttProbe.Received> all = probe.All;
            int firstBackfill = IndexOf(all, m => IsTelemetry(m) && m.Text.Contains("\"backfill\":true", StringComparison.Ordinal));
            foreach (string rule in new[] { "flood", "storm" })
            {
                Assert.True(IndexOf(all, m => m.Topic == Topics.AlertEvent("test", rule, Node)) < firstBackfill, $"alert {rule} arrived after the first backfill");
            }

            // Paced: at most the configured rate (100 records/s), measured at the subscriber.
            double seconds = (backfill[^1].Raw.At - backfill[0].Raw.At) / (double)Stopwatch.Frequency;
            double rate = (backfill.Count - 1) / seconds;
            Assert.True(rate <= 115, $"backlog replayed at {rate:0} records/s, above 100");

            // The retained value of a channel is the newest live window, not a backfilled one.
            await using MqttProbe late = await MqttProbe.StartAsync(port, Topics.Telemetry("test", Node, "bme280", "temperature"));
            MqttProbe.Received retained = await late.WaitForAsync(_ => true, TimeSpan.FromSeconds(5), "retained temperature");
            Assert.True(ProtocolJson.TryReadTelemetry(retained.Payload, out TelemetryMessage newest, out string error), error);
            Assert.False(newest.Backfill);

            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"outage {outage.Elapsed.TotalSeconds:0.0} s, {lastInOutage - firstInOutage + 1} records ({(lastInOutage - firstInOutage + 1) / 3} windows of 3 channels); sequences 1..{last}: lost 0, duplicates before dedupe {duplicates}, after dedupe 0; {backfill.Count} backfilled at {rate:0.0} records/s (limit 100)"));
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_full_outbox_drops_the_oldest_telemetry_counts_it_keeps_alerts_and_the_node_keeps_sampling()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("full-1", port, window: "00:00:00.100", interval: "00:00:00.050");
        config["Outbox:SegmentBytes"] = "4096";
        config["Outbox:MaxBytes"] = "16384";
        using IHost node = Hosts.Node(config);
        IOutbox outbox = node.Services.GetRequiredService<IOutbox>();

        // No broker at all: the outbox fills up to its small bound.
        await node.StartAsync(ct);
        try
        {
            long alert = 0;
            await Wait.UntilAsync(() => outbox.Figures.Dropped > 0, TimeSpan.FromSeconds(30), "a drop at the size bound");
            alert = AppendAlert(outbox, "flood", "full-1");
            long droppedBefore = outbox.Figures.Dropped;
            await Wait.UntilAsync(() => outbox.Figures.Dropped > droppedBefore + 50, TimeSpan.FromSeconds(30), "more drops after the alert");
            Assert.True(outbox.Figures.Bytes <= 16384, $"{outbox.Figures.Bytes} bytes");

            await using TestBroker broker = await TestBroker.StartAsync(port, gateOpen: false);
            await using MqttProbe probe = await MqttProbe.StartAsync(port);
            broker.OpenGate();

            // The alert survived all those drops; the status tells how many there were.
            await probe.WaitForAsync(m => m.Topic == Topics.AlertEvent("test", "flood", "full-1"), TimeSpan.FromSeconds(20), "the alert");
            MqttProbe.Received status = await probe.WaitForAsync(m => m.Topic == Topics.Status("test", "full-1"), TimeSpan.FromSeconds(20), "status");
            Assert.True(ProtocolJson.TryReadStatus(status.Payload, out NodeStatusMessage? s, out string error), error);
            Assert.NotNull(s.Outbox);
            Assert.True(s.Outbox.Dropped > 50, $"status says {s.Outbox.Dropped} dropped");
            Assert.True(s.Outbox.Bytes <= 16384);

            // Sampling never stopped: windows newer than the alert arrive.
            await probe.WaitForAsync(m => IsTelemetry(m, "full-1") && Sequence(m) > alert, TimeSpan.FromSeconds(20), "telemetry newer than the alert");
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Node firmware has no alert producer yet; the outbox treats any producer's alerts the same.</summary>
    private static long AppendAlert(IOutbox outbox, string rule, string node = Node)
    {
        var alert = new AlertMessage
        {
            AlertId = $"test-{rule}-{node}",
            Rule = rule,
            State = AlertState.Raised,
            Audience = AlertAudience.Operator,
            Site = "test",
            Subject = node,
            Nodes = [node],
            Quantity = "temperature",
            Unit = Units.Celsius,
            Value = 1,
            Threshold = 0,
            Severity = "Minor",
            Certainty = "Observed",
            Urgency = "Immediate",
            Headline = rule,
            Time = DateTimeOffset.UtcNow,
            RaisedAt = DateTimeOffset.UtcNow,
            Revision = 1,
        };
        using var buffer = new PayloadBuffer();
        Assert.True(outbox.TryAppend(OutboxKind.Alert, Topics.AlertEvent("test", rule, node), retain: false, (buffer, alert), static (long _, in (PayloadBuffer Buffer, AlertMessage Alert) s) => s.Buffer.Alert(s.Alert), out long seq));
        return seq;
    }

    private static bool IsTelemetry(MqttProbe.Received m) => IsTelemetry(m, Node);

    private static bool IsTelemetry(MqttProbe.Received m, string node) =>
        Topics.TryParseTelemetry(m.Topic, out TelemetryTopic t) && t.Node == node;

    private static long Sequence(MqttProbe.Received m) =>
        ProtocolJson.TryReadTelemetry(m.Payload, out TelemetryMessage t, out _) ? t.Sequence : -1;

    /// <summary>Telemetry the gateway's reader refuses, with why: a node must never produce any.</summary>
    private static string Unreadable(MqttProbe probe) => string.Join(" | ", probe.All.Where(IsTelemetry)
        .Select(m => ProtocolJson.TryReadTelemetry(m.Payload, out _, out string e) ? null : $"{e}: {m.Text}").OfType<string>().Take(3));

    private static List<(MqttProbe.Received Raw, TelemetryMessage Message)> Telemetry(MqttProbe probe) =>
        probe.All.Where(IsTelemetry)
            .Select(m => (m, ProtocolJson.TryReadTelemetry(m.Payload, out TelemetryMessage t, out string e) ? t : throw new InvalidDataException($"{e}: {m.Topic}, {m.Payload.Length} bytes: {Convert.ToHexString(m.Payload.AsSpan(0, Math.Min(96, m.Payload.Length)))}")))
            .ToList();

    /// <summary>The highest n such that every sequence 1..n arrived as telemetry or is one of <paramref name="others"/>.</summary>
    private static long ContiguousFrom1(MqttProbe probe, IReadOnlyCollection<long> others)
    {
        var seen = probe.All.Where(IsTelemetry).Select(Sequence).Concat(others).ToHashSet();
        long n = 0;
        while (seen.Contains(n + 1))
        {
            n++;
        }

        return n;
    }

    private static List<long> Waiting(IOutbox outbox)
    {
        var waiting = new List<long>();
        long from = 0;
        while (outbox.TryPeek(OutboxKind.Telemetry, from, long.MaxValue, out OutboxRecord r))
        {
            waiting.Add(r.Sequence);
            from = r.Sequence + 1;
        }

        return waiting;
    }

    private static string Describe(MqttProbe probe)
    {
        List<(MqttProbe.Received Raw, TelemetryMessage Message)> t = Telemetry(probe);
        return $"{probe.All.Count} messages, {t.Count} telemetry, seqs {string.Join(",", t.Select(x => x.Message.Sequence).Take(40))}";
    }

    private static int IndexOf(IReadOnlyList<MqttProbe.Received> all, Func<MqttProbe.Received, bool> match)
    {
        for (int i = 0; i < all.Count; i++)
        {
            if (match(all[i]))
            {
                return i;
            }
        }

        return int.MaxValue;
    }
}
