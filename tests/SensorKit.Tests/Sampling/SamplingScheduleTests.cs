using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Sampling;
using SensorKit.Protocol;
using SensorKit.Simulation;
using SensorKit.Simulation.Emulators;

namespace SensorKit.Tests.Sampling;

/// <summary>The sampler on fake time: a drift-free schedule, and backoff with re-discovery for a failed sensor.</summary>
public sealed class SamplingScheduleTests
{
    private sealed class RecordingSink : IAggregateSink
    {
        public ConcurrentQueue<(ChannelId Channel, WindowAggregate Aggregate)> Received { get; } = new();

        public void Accept(ChannelId channel, in WindowAggregate aggregate) => Received.Enqueue((channel, aggregate));
    }

    private static readonly DateTimeOffset Start = new(2026, 7, 1, 12, 0, 0, TimeSpan.Zero);

    private static (SamplingService Service, ChipEmulator Chip, RecordingSink Sink, FakeTimeProvider Time) Build(TimeSpan interval, TimeSpan window)
    {
        var node = new NodeOptions
        {
            Id = "n1",
            Site = "s1",
            Window = window,
            Sensors = [new SensorOptions { Type = "bme280", Address = "0x76", Interval = interval }],
        };
        var time = new FakeTimeProvider(Start);
        SimulatedI2cBus bus = SimulationSetup.Build(node, new SimulationOptions { Enabled = true }, time);
        var sink = new RecordingSink();
        var service = new SamplingService(new SensorRegistry(Options.Create(node)), bus, sink, time, NullLogger<SamplingService>.Instance);
        return (service, bus.Find(1, 0x76)!, sink, time);
    }

    /// <summary>Advances fake time one tick at a time, waiting until the sampler has acted on each tick.</summary>
    private static async Task StepAsync(FakeTimeProvider time, TimeSpan step, int count, Func<bool> settled)
    {
        for (int i = 0; i < count; i++)
        {
            long before = Environment.TickCount64;
            time.Advance(step);
            while (!settled())
            {
                Assert.True(Environment.TickCount64 - before < 5000, $"sampler did not act on tick {i + 1} (now {time.GetUtcNow():O})");
                await Task.Yield();
            }
        }
    }

    [Fact]
    public async Task Every_window_gets_exactly_the_expected_samples_on_fake_time()
    {
        (SamplingService service, ChipEmulator chip, RecordingSink sink, FakeTimeProvider time) = Build(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        var bme = (SensorKit.Simulation.Emulators.Bme280.Bme280Emulator)chip;
        await service.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            // The first read happens at once; then one forced measurement per one-second tick.
            await StepAsync(time, TimeSpan.Zero, 1, () => bme.Measurements == 1);
            for (int tick = 1; tick <= 30; tick++)
            {
                int target = tick + 1;
                await StepAsync(time, TimeSpan.FromSeconds(1), 1, () => bme.Measurements == target);
            }

            // Let the last read's samples reach the pipeline before stopping.
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }

        // 31 reads from 12:00:00 to 12:00:30: windows [00,10) and [10,20) and [20,30) are closed.
        WindowAggregate[] temperature = sink.Received.Where(r => r.Channel.Quantity == Quantities.Temperature).Select(r => r.Aggregate).ToArray();
        Assert.Equal(3, temperature.Length);
        for (int w = 0; w < temperature.Length; w++)
        {
            Assert.Equal(Start.AddSeconds(10 * w), temperature[w].Start);
            Assert.Equal(10, temperature[w].Count);
            Assert.Equal(10, temperature[w].Expected);
            Assert.Equal(QualityFlags.None, temperature[w].Flags & QualityFlags.Gaps);
        }
    }

    [Fact]
    public async Task A_failed_sensor_is_retried_with_exponential_backoff_and_found_again()
    {
        (SamplingService service, ChipEmulator chip, RecordingSink sink, FakeTimeProvider time) = Build(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        chip.Faults = ChipFault.Absent;
        var attempts = new List<DateTimeOffset>();
        chip.ScheduledFaults = () =>
        {
            lock (attempts)
            {
                // Called once per bus transfer; one attempt on an absent chip is one NACKed transfer.
                attempts.Add(time.GetUtcNow());
            }

            return ChipFault.None;
        };

        await service.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            int Count()
            {
                lock (attempts)
                {
                    return attempts.Count;
                }
            }

            await StepAsync(time, TimeSpan.Zero, 1, () => Count() > 0);

            // Failed after 3 attempts (t = 0, 1, 2 s), then waits of 1, 2, 4, 8, 16 s: attempts at 0,1,2,3,5,9,17,33.
            int[] expected = [0, 1, 2, 3, 5, 9, 17, 33];
            for (int second = 1; second <= 40; second++)
            {
                int before = Count();
                time.Advance(TimeSpan.FromSeconds(1));
                if (expected.Contains(second))
                {
                    // Wait for the attempt due now, so it is stamped with this second.
                    await StepAsync(time, TimeSpan.Zero, 1, () => Count() > before);
                }
            }

            DateTimeOffset[] seen;
            lock (attempts)
            {
                seen = attempts.Distinct().ToArray();
            }

            Assert.Equal(expected.Select(e => (double)e), seen.Select(t => (t - Start).TotalSeconds));

            // Plugged back in: the next backoff attempt, 32 s after the one at 33 s, re-opens the driver and reads.
            chip.Faults = ChipFault.None;
            var bme = (SensorKit.Simulation.Emulators.Bme280.Bme280Emulator)chip;
            for (int second = 41; second <= 65; second++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
            }

            await StepAsync(time, TimeSpan.Zero, 1, () => bme.Measurements > 0);
            Assert.Equal(1, bme.Measurements);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }
}
