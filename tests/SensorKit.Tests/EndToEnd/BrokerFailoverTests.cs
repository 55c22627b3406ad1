using System.Globalization;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.EndToEnd;

/// <summary>
/// Broker failover with real parts: the firmware executable with two Mosquittos in Mqtt:Brokers and a subscriber on
/// each. The first broker hangs while the node publishes to it, then is killed (kill -9): the node goes on at the
/// second, which holds no session of the node's, so what the first never acknowledged (the window in flight and those
/// queued behind it) is published there from the outbox. The first comes back and the node returns to it. Across the run every
/// sequence number reaches one subscriber or the other.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class BrokerFailoverTests
{
    private const string Node = "fo-1";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_node_moves_to_the_second_broker_when_the_first_dies_returns_when_it_is_back_and_loses_no_sequence()
    {
        string outboxDir = TestDirectories.Create("outbox-fo");
        MosquittoBroker first = await MosquittoBroker.StartAsync();
        await using MosquittoBroker second = await MosquittoBroker.StartAsync();
        string firstUri = $"mqtt://127.0.0.1:{first.Port}";
        string secondUri = $"mqtt://127.0.0.1:{second.Port}";
        await using MqttProbe atFirst = await MqttProbe.StartAsync(first.Port);
        await using MqttProbe atSecond = await MqttProbe.StartAsync(second.Port);
        ExecutableProcess firmware = ExecutableProcess.Firmware(Arguments(firstUri, secondUri, outboxDir));
        try
        {
            // On the first, the preferred broker, and it says so in its status.
            await ArrivesAsync(atFirst, 0, m => IsOnlineAt(m, firstUri), "the node online at the first broker", firmware);
            await ArrivesAsync(atFirst, 0, m => Sequence(m) >= 20, "windows at the first broker", firmware);

            // The first broker hangs while the node publishes: a window goes out and is never acknowledged, the next
            // ones queue behind it in the outbox. Then the broker dies.
            await first.FreezeAsync();
            long lastAtFirst = atFirst.All.Max(Sequence);
            await Wait.UntilAsync(() => OutboxInspector.Waiting(outboxDir).Count(s => s > lastAtFirst) >= 12, Timeout, "windows sent to the hung broker", () => firmware.Output);
            await first.KillAsync();
            long[] unacknowledged = [.. OutboxInspector.Waiting(outboxDir).Where(s => s > lastAtFirst)];
            await ArrivesAsync(atSecond, 0, m => IsOnlineAt(m, secondUri), "the node online at the second broker", firmware);
            await ArrivesAsync(atSecond, 0, m => Sequence(m) > lastAtFirst + 20, "newer windows at the second broker", firmware);
            await Wait.UntilAsync(() => Contiguous(atFirst, atSecond) > unacknowledged.Max(), Timeout, "what the first had not acknowledged, at the second", () => $"contiguous up to {Contiguous(atFirst, atSecond)} of {unacknowledged.Max()}");
            Assert.Subset(atSecond.All.Select(Sequence).ToHashSet(), unacknowledged.ToHashSet());

            // The first comes back. The node is frozen meanwhile, so that the subscriber is there again before the
            // node can return (a new Mosquitto has no subscriptions, and would acknowledge windows it passes to nobody).
            await firmware.PauseAsync();
            int firstFrom;
            try
            {
                await first.DisposeAsync();
                first = await MosquittoBroker.StartAsync(port: first.Port);
                await atFirst.ReconnectAsync(TimeSpan.FromSeconds(10));
                firstFrom = atFirst.All.Count;
            }
            finally
            {
                await firmware.ResumeAsync();
            }

            // Mqtt:PreferPrimaryAfter is 1 s here: the node looks, finds the first answering, and goes back.
            await ArrivesAsync(atFirst, firstFrom, m => IsOnlineAt(m, firstUri), "the node back online at the first broker", firmware);
            long lastAtSecond = atSecond.All.Max(Sequence);
            await ArrivesAsync(atFirst, firstFrom, m => Sequence(m) > lastAtSecond + 20, "newer windows at the first broker again", firmware);

            await firmware.StopAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(0, firmware.ExitCode);

            // Nothing produced is lost: what reached either subscriber, plus what still waits on disk, is every number from 1.
            var received = atFirst.All.Concat(atSecond.All).Select(Sequence).Where(s => s > 0).ToList();
            SortedSet<long> waiting = OutboxInspector.Waiting(outboxDir);
            long last = received.Concat(waiting).Max();
            long[] missing = [.. Enumerable.Range(1, (int)last).Select(i => (long)i).Except(received).Except(waiting)];
            Assert.True(missing.Length == 0, $"missing {string.Join(",", missing.Take(30))} of 1..{last}; {firmware.Output}");

            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"sequences 1..{last}: lost 0; at the first {atFirst.All.Count(m => Sequence(m) > 0)}, at the second {atSecond.All.Count(m => Sequence(m) > 0)}; {unacknowledged.Length} unacknowledged by the hung first broker ({unacknowledged[0]}..{unacknowledged[^1]}), all published again at the second; {waiting.Count} still waiting after the clean stop"));
        }
        finally
        {
            await firmware.DisposeAsync();
            await first.DisposeAsync();
        }
    }

    private static string[] Arguments(string firstUri, string secondUri, string outboxDir) =>
    [
        "--Node:Id", Node,
        "--Node:Site", "test",
        "--Node:Window", "00:00:00.200",
        "--Node:StatusInterval", "00:00:05",
        "--Node:Sensors:0:Interval", "00:00:00.050",
        "--Mqtt:Brokers:0", firstUri,
        "--Mqtt:Brokers:1", secondUri,
        "--Mqtt:PreferPrimaryAfter", "00:00:01",
        "--Mqtt:ReconnectMin", "00:00:00.100",
        "--Mqtt:ReconnectMax", "00:00:01",
        "--Outbox:Directory", outboxDir,
        "--Outbox:ReplayRate", "500",
        "--Simulation:Enabled", "true",
        "--Simulation:Scenario=",
        "--Simulation:Speed", "1",
    ];

    private static bool IsOnlineAt(MqttProbe.Received m, string broker) =>
        m.Topic == Topics.Status("test", Node) && ProtocolJson.TryReadStatus(m.Payload, out NodeStatusMessage? s, out _) && s.State == NodeState.Online && s.Broker == broker;

    private static long Sequence(MqttProbe.Received m) =>
        Topics.TryParseTelemetry(m.Topic, out TelemetryTopic t) && t.Node == Node && ProtocolJson.TryReadTelemetry(m.Payload, out TelemetryMessage msg, out _) ? msg.Sequence : -1;

    /// <summary>The highest n such that every sequence 1..n reached one of the subscribers.</summary>
    private static long Contiguous(MqttProbe a, MqttProbe b)
    {
        var seen = a.All.Concat(b.All).Select(Sequence).ToHashSet();
        long n = 0;
        while (seen.Contains(n + 1))
        {
            n++;
        }

        return n;
    }

    /// <summary>Waits for a message matching <paramref name="match"/> at or after index <paramref name="from"/> of what <paramref name="probe"/> received.</summary>
    private static Task ArrivesAsync(MqttProbe probe, int from, Func<MqttProbe.Received, bool> match, string what, ExecutableProcess firmware) =>
        Wait.UntilAsync(() => probe.All.Skip(from).Any(match), Timeout, what, () => firmware.Output);
}
