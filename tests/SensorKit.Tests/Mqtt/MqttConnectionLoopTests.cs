using CsCheck;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using SensorKit.Mqtt;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Mqtt;

/// <summary>The connection loop the node and the gateway share: backoff and jitter bounds, one report per reason, a reset after success.</summary>
public sealed class MqttConnectionLoopTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public void Backoff_doubles_from_min_up_to_max_and_jitters_in_the_upper_half()
    {
        Gen.Select(Gen.Int[1, 10_000], Gen.Int[1, 100_000], Gen.Int[0, 60], Gen.Double[0, 0.999_999_999]).Sample((minMs, maxMs, failures, r) =>
        {
            var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(minMs), TimeSpan.FromMilliseconds(maxMs), new FixedRandom(r));
            double ceiling = Math.Min(maxMs, minMs * Math.Pow(2, Math.Min(failures, 20)));
            // TimeSpan resolves ticks, 0.1 µs.
            Assert.Equal(ceiling, backoff.Ceiling(failures).TotalMilliseconds, tolerance: 1e-4);

            TimeSpan delay = backoff.Delay(failures);
            Assert.InRange(delay.TotalMilliseconds, (ceiling / 2) - 1e-4, ceiling);
            Assert.Equal((ceiling / 2) + (r * ceiling / 2), delay.TotalMilliseconds, tolerance: 1e-4);
        });
    }

    [Fact]
    public void Backoff_bounds_at_the_extremes_of_the_jitter()
    {
        var low = new ReconnectBackoff(Min, Max, new FixedRandom(0));
        var high = new ReconnectBackoff(Min, Max, new FixedRandom(0.999_999_999));

        Assert.Equal([50, 100, 200, 400, 800, 1000, 1000], Enumerable.Range(0, 7).Select(f => low.Delay(f).TotalMilliseconds));
        Assert.Equal([100, 200, 400, 800, 1600, 2000, 2000], Enumerable.Range(0, 7).Select(f => Math.Round(high.Delay(f).TotalMilliseconds, 3)));
        Assert.Equal(Max, high.Ceiling(int.MaxValue));
    }

    [Fact]
    public async Task Attempts_wait_their_backoff_on_the_clock_a_reason_is_reported_once_and_a_success_starts_over()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero));
        var backoff = new ReconnectBackoff(Min, Max);
        using var loop = new MqttConnectionLoop(backoff, clock);
        int port = FreePort.Get();
        var worker = new RecordingWorker(loop.Client, port);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task running = loop.RunAsync(worker, stop.Token);
        try
        {
            // Nobody listens on the port: every attempt is refused at once, and each waits longer than the one before.
            for (int failures = 0; failures < 6; failures++)
            {
                TimeSpan delay = await BackingOffAsync(loop, clock, running);
                Assert.InRange(delay, backoff.Ceiling(failures) / 2, backoff.Ceiling(failures));
                Assert.Equal(failures + 1, worker.Attempts);

                // Not a tick early: the retry waits on the clock it was given.
                clock.Advance(delay - TimeSpan.FromTicks(1));
                Assert.NotNull(loop.RetryAt);
                Assert.Equal(failures + 1, worker.Attempts);
                clock.Advance(TimeSpan.FromTicks(1));
                await Wait.UntilAsync(() => worker.Attempts == failures + 2, Timeout, $"attempt {failures + 2}");
            }

            string reason = Assert.Single(worker.Failures);
            Assert.NotEmpty(reason);

            // A broker appears: the next attempt connects, and losing it starts the backoff from the bottom again.
            TestBroker broker = await TestBroker.StartAsync(port);
            try
            {
                clock.Advance(await BackingOffAsync(loop, clock, running));
                await Wait.UntilAsync(() => worker.Connected == 1, Timeout, "a connection to the broker");
            }
            finally
            {
                await broker.DisposeAsync();
            }

            TimeSpan afterLoss = await BackingOffAsync(loop, clock, running);
            Assert.Equal(1, worker.Lost + worker.Ended);
            Assert.InRange(afterLoss, Min / 2, Min);
            Assert.Equal(2, worker.Failures.Count);
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    /// <summary>Waits until the loop backs off and returns how long it is going to wait.</summary>
    private static async Task<TimeSpan> BackingOffAsync(MqttConnectionLoop loop, FakeTimeProvider clock, Task running)
    {
        await Wait.UntilAsync(() => loop.RetryAt is not null || running.IsCompleted, Timeout, "a backoff");
        Assert.False(running.IsCompleted, running.Exception?.ToString());
        return loop.RetryAt!.Value - clock.GetUtcNow();
    }

    /// <summary>The jitter's source, pinned to one value.</summary>
    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }

    /// <summary>A worker that connects to a loopback port and, once connected, waits for the connection to go.</summary>
    private sealed class RecordingWorker(IMqttClient client, int port) : IMqttWorker
    {
        private volatile int _attempts;
        private volatile int _connected;

        public int Attempts => _attempts;

        public int Connected => _connected;

        public int Lost { get; private set; }

        public int Ended { get; private set; }

        public List<string> Failures { get; } = [];

        public ValueTask<MqttConnectPlan> PlanAsync(CancellationToken ct)
        {
            _attempts++;
            MqttClientOptions options = new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", port)
                .WithClientId("loop-test")
                .WithTimeout(TimeSpan.FromSeconds(5))
                .Build();
            return ValueTask.FromResult(new MqttConnectPlan("127.0.0.1", port, options));
        }

        public Task OnConnectedAsync(MqttConnectPlan plan, CancellationToken ct)
        {
            _connected++;
            return Task.CompletedTask;
        }

        public async Task RunAsync(CancellationToken ct)
        {
            var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            client.DisconnectedAsync += _ =>
            {
                gone.TrySetResult();
                return Task.CompletedTask;
            };
            if (client.IsConnected)
            {
                await gone.Task.WaitAsync(ct);
            }

            Ended++;
        }

        public void OnConnectFailed(MqttConnectPlan plan, string reason)
        {
            lock (Failures)
            {
                Failures.Add(reason);
            }
        }

        public void OnConnectionLost(string reason) => Lost++;
    }
}
