using System.Globalization;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.EndToEnd;

/// <summary>
/// The real firmware executable as a child process, a real Mosquitto, and the worst an uplink and a
/// node can do together: the node dies (kill -9) while connected, and again while the broker is down.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class FirmwareProcessTests
{
    private const string Node = "k-1";

    [Fact]
    public async Task A_killed_node_is_reported_lost_then_online_and_loses_nothing_when_killed_during_an_outage()
    {
        TimeSpan timeout = TimeSpan.FromSeconds(30);
        string db = TestDirectories.Create("mosquitto-db");
        string outboxDir = TestDirectories.Create("outbox-k");
        MosquittoBroker mosquitto = await MosquittoBroker.StartAsync(persistenceDirectory: db);
        int port = mosquitto.Port;
        await using MqttProbe probe = await MqttProbe.StartAsync(port, persistentClientId: $"probe-{Guid.NewGuid():N}");
        ExecutableProcess firmware = ExecutableProcess.Firmware(Arguments(port, outboxDir));
        try
        {
            await probe.WaitForAsync(m => IsStatus(m, "online"), timeout, "the node's birth", () => firmware.Output);
            await probe.WaitForAsync(m => Sequence(m) >= 9, timeout, "the first windows", () => firmware.Output);

            // Killed while connected: the broker publishes the will.
            await firmware.KillAsync();
            int lostAt = await IndexOfAsync(probe, m => IsStatus(m, "lost"), 0, timeout, "status lost after kill -9");

            // Back again: online, and the numbers go on.
            long beforeRestart = probe.All.Max(Sequence);
            await firmware.DisposeAsync();
            firmware = ExecutableProcess.Firmware(Arguments(port, outboxDir));
            await IndexOfAsync(probe, m => IsStatus(m, "online"), lostAt + 1, timeout, "status online after the restart");
            await probe.WaitForAsync(m => Sequence(m) > beforeRestart + 3, timeout, "windows after the restart", () => firmware.Output);
            // What the first process left unacknowledged comes back as backfill: nothing is missing before the outage.
            await Wait.UntilAsync(() => Contiguous(probe) > beforeRestart, timeout, "the first process's backlog", () => $"contiguous up to {Contiguous(probe)} of {beforeRestart}");

            // The broker goes down; the node fills its outbox and is killed in the middle of it.
            long deliveredBeforeOutage = Contiguous(probe);
            await mosquitto.StopAsync();
            await GrowsAsync(outboxDir, 40_000, timeout);
            await firmware.KillAsync();
            SortedSet<long> waitingAtKill = OutboxInspector.Waiting(outboxDir);
            Assert.NotEmpty(waitingAtKill);

            // Restarted while the broker is still down, then the broker returns.
            await firmware.DisposeAsync();
            firmware = ExecutableProcess.Firmware(Arguments(port, outboxDir));
            await GrowsAsync(outboxDir, 10_000, timeout);

            // The node is frozen while the broker and the subscriber come back, so that the subscriber is there
            // before the node's first publish even when Mosquitto did not keep the subscriber's session.
            await firmware.PauseAsync();
            await mosquitto.DisposeAsync();
            mosquitto = await MosquittoBroker.StartAsync(port: port, persistenceDirectory: db);
            bool sessionKept;
            try
            {
                sessionKept = await probe.ReconnectAsync(TimeSpan.FromSeconds(10));
            }
            finally
            {
                await firmware.ResumeAsync();
            }

            // Records the broker acknowledged just before it went down are the broker's to deliver: if
            // Mosquitto did not keep the subscriber's session they are lost there, not by the node.
            long brokerOwnedFrom = deliveredBeforeOutage + 1;
            long brokerOwnedTo = waitingAtKill.Min - 1;
            long target = waitingAtKill.Max + 30;
            await Wait.UntilAsync(() => ContiguousFrom(probe, waitingAtKill.Min) >= target, TimeSpan.FromSeconds(60), $"every sequence up to {target}", () => $"contiguous up to {Contiguous(probe)}, missing {string.Join(",", Enumerable.Range(1, (int)target).Where(i => !probe.All.Select(Sequence).Contains(i)).Take(30))}; session kept {sessionKept}; waiting at kill {string.Join(",", waitingAtKill.Take(10))}; {firmware.Output}");

            // A clean stop (SIGTERM) says goodbye itself.
            int beforeStop = probe.All.Count;
            await firmware.StopAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(0, firmware.ExitCode);
            await IndexOfAsync(probe, m => IsStatus(m, "offline"), beforeStop, timeout, "status offline after SIGTERM");

            // Nothing produced is lost: what arrived plus what still waits on disk is every number from 1, without a gap.
            var received = probe.All.Select(Sequence).Where(s => s > 0).ToList();
            SortedSet<long> waitingAfter = OutboxInspector.Waiting(outboxDir);
            long[] all = received.Concat(waitingAfter).Distinct().Order().ToArray();
            long[] missing = Enumerable.Range(1, (int)all[^1]).Select(i => (long)i).Except(all).ToArray();
            Assert.All(missing, m => Assert.True(!sessionKept && m >= brokerOwnedFrom && m <= brokerOwnedTo, $"sequence {m} lost (session kept {sessionKept}, broker-owned {brokerOwnedFrom}..{brokerOwnedTo})"));
            Assert.Subset(received.ToHashSet(), waitingAtKill.ToHashSet());

            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"kill -9 during outage: {waitingAtKill.Count} records waiting at the kill, all delivered; sequences 1..{all[^1]}: lost by the node 0, lost by the restarted broker {missing.Length}; {received.Count - received.Distinct().Count()} duplicates before dedupe; {waitingAfter.Count} still waiting after the clean stop"));
        }
        finally
        {
            await firmware.DisposeAsync();
            await mosquitto.DisposeAsync();
        }
    }

    private static string[] Arguments(int port, string outboxDir) =>
    [
        "--Node:Id", Node,
        "--Node:Site", "test",
        "--Node:Window", "00:00:00.200",
        "--Node:StatusInterval", "00:00:05",
        "--Node:Sensors:0:Interval", "00:00:00.050",
        "--Mqtt:Broker", $"mqtt://127.0.0.1:{port}",
        "--Mqtt:ReconnectMin", "00:00:00.100",
        "--Mqtt:ReconnectMax", "00:00:01",
        "--Outbox:Directory", outboxDir,
        "--Outbox:ReplayRate", "200",
        "--Simulation:Enabled", "true",
        "--Simulation:Scenario=",
        "--Simulation:Speed", "1",
    ];

    private static bool IsStatus(MqttProbe.Received m, string state) =>
        m.Topic == Topics.Status("test", Node) && ProtocolJson.TryReadStatus(m.Payload, out NodeStatusMessage? s, out _) && ProtocolJson.Name(s.State) == state;

    private static long Sequence(MqttProbe.Received m) =>
        Topics.TryParseTelemetry(m.Topic, out TelemetryTopic t) && t.Node == Node && ProtocolJson.TryReadTelemetry(m.Payload, out TelemetryMessage msg, out _) ? msg.Sequence : -1;

    private static long ContiguousFrom(MqttProbe probe, long start)
    {
        var seen = probe.All.Select(Sequence).ToHashSet();
        long n = start - 1;
        while (seen.Contains(n + 1))
        {
            n++;
        }

        return n;
    }

    private static long Contiguous(MqttProbe probe)
    {
        var seen = probe.All.Select(Sequence).ToHashSet();
        long n = 0;
        while (seen.Contains(n + 1))
        {
            n++;
        }

        return n;
    }

    private static async Task<int> IndexOfAsync(MqttProbe probe, Func<MqttProbe.Received, bool> match, int from, TimeSpan timeout, string what)
    {
        int found = -1;
        await Wait.UntilAsync(
            () =>
            {
                IReadOnlyList<MqttProbe.Received> all = probe.All;
                for (int i = from; i < all.Count; i++)
                {
                    if (match(all[i]))
                    {
                        found = i;
                        return true;
                    }
                }

                return false;
            },
            timeout,
            what);
        return found;
    }

    private static Task GrowsAsync(string outboxDir, long bytes, TimeSpan timeout)
    {
        long start = OutboxInspector.Bytes(outboxDir);
        return Wait.UntilAsync(() => OutboxInspector.Bytes(outboxDir) >= start + bytes, timeout, $"the outbox to grow by {bytes} bytes");
    }
}
