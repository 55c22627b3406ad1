using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Node.Publishing;
using SensorKit.Node.Sampling;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Resources;

/// <summary>
/// The node in normal operation (five simulated sensors at 1 Hz, one-minute windows, a real broker) on fake time:
/// it throws no exception and its live objects do not grow from window to window (docs/resources.md).
/// Runs alone, so the heap it measures is the node's and not that of tests running beside it.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class SteadyStateTests
{
    private const int Windows = 4;

    // Set in this test's flow only; the node's loops, timers and MQTT client inherit it, other tests never have it.
    private static readonly AsyncLocal<bool> InNode = new();

    [Fact]
    public async Task A_node_in_normal_operation_throws_nothing_and_its_live_objects_do_not_grow_per_window()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        await using TestBroker broker = await TestBroker.StartAsync(port);

        var time = new FakeTimeProvider(new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero));
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("steady-1", port, window: "00:01:00", interval: "00:00:01");
        config["Node:StatusInterval"] = "00:01:00";
        // The soak's sensors less the SCD4x, whose driver polls for the chip's 5 s measurement in real time, which fake time cannot give.
        (string Type, string Address)[] sensors = [("bme280", "0x76"), ("sht4x", "0x44"), ("ads1115", "0x48"), ("vl53l0x", "0x29"), ("bh1750", "0x23")];
        for (int i = 0; i < sensors.Length; i++)
        {
            config[$"Node:Sensors:{i}:Id"] = sensors[i].Type;
            config[$"Node:Sensors:{i}:Type"] = sensors[i].Type;
            config[$"Node:Sensors:{i}:Address"] = sensors[i].Address;
            // A bus each, so the drivers' own waits (the BH1750's 180 ms conversion) do not queue behind one another.
            config[$"Node:Sensors:{i}:Bus"] = (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            config[$"Node:Sensors:{i}:Interval"] = "00:00:01";
        }

        var thrown = new ConcurrentQueue<string>();
        bool counting = false;
        void OnFirstChance(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
        {
            if (InNode.Value && Volatile.Read(ref counting))
            {
                thrown.Enqueue($"{e.Exception.GetType().Name}: {e.Exception.Message}");
            }
        }

        InNode.Value = true;
        using IHost node = Hosts.Node(config, s =>
        {
            s.RemoveAll<TimeProvider>();
            s.AddSingleton<TimeProvider>(time);
        });
        SensorRegistry registry = node.Services.GetRequiredService<SensorRegistry>();
        MqttPublisher publisher = node.Services.GetRequiredService<MqttPublisher>();
        IOutbox outbox = node.Services.GetRequiredService<IOutbox>();
        AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
        await node.StartAsync(ct);
        try
        {
            await Wait.UntilAsync(() => publisher.IsConnected && registry.Slots.All(x => x.Reads > 0), TimeSpan.FromSeconds(20), "connection to the broker and the first reads");
            var live = new List<long>();
            for (int window = 1; window <= Windows; window++)
            {
                for (int second = 0; second < 60; second++)
                {
                    long[] before = [.. registry.Slots.Select(x => x.Reads)];
                    time.Advance(TimeSpan.FromSeconds(1));
                    await Wait.UntilAsync(() => registry.Slots.Select((x, k) => x.Reads > before[k]).All(b => b), TimeSpan.FromSeconds(10), $"reads of second {second} of window {window}");
                }

                await Wait.UntilAsync(() => outbox.Figures.Queued == 0 && outbox.NextSequence > 0, TimeSpan.FromSeconds(20), $"window {window} acknowledged by the broker", () => $"{outbox.Figures.Queued} queued");
                if (window == 1)
                {
                    // Start-up (first connection, first windows, first JIT) is over: from here on it is normal operation.
                    Volatile.Write(ref counting, true);
                }

                live.Add(GC.GetTotalMemory(forceFullCollection: true));
            }

            Volatile.Write(ref counting, false);
            Assert.True(thrown.IsEmpty, $"{thrown.Count} exceptions in normal operation:\n{string.Join('\n', thrown.Take(10))}");
            Assert.All(registry.Slots, s => Assert.Equal(0, s.Failures));

            // Live objects after a full collection, window after window: what the node keeps must not pile up.
            // The allowance is for the runtime's own lazily created objects, far below a leak of even one object per read.
            long growth = live[^1] - live[1];
            TestContext.Current.TestOutputHelper?.WriteLine($"live bytes after windows 1..{Windows}: {string.Join(", ", live)}");
            Assert.True(growth < 32 * 1024, $"live objects grew {growth} bytes over {Windows - 2} windows: {string.Join(", ", live)}");
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;
            InNode.Value = false;
            await node.StopAsync(CancellationToken.None);
        }
    }
}
