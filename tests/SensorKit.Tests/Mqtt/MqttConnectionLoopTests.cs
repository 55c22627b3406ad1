using CsCheck;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using SensorKit.Mqtt;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Mqtt;

/// <summary>
/// The connection loop the node and the gateway share: backoff and jitter bounds, one report per reason, a reset after
/// success; with several brokers, their order, a backoff per round, and the return to the first.
/// </summary>
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
        var worker = new RecordingWorker(loop, port);
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

    [Fact]
    public async Task Two_brokers_are_tried_in_order_a_failed_round_backs_off_a_loss_moves_on_at_once_and_the_first_is_returned_to()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero));
        var backoff = new ReconnectBackoff(Min, Max);
        TimeSpan preferFirstAfter = TimeSpan.FromMinutes(5);
        using var loop = new MqttConnectionLoop(backoff, clock, new BrokerRotation(2, preferFirstAfter, clock));
        int first = FreePort.Get();
        int second = FreePort.Get();
        var worker = new RecordingWorker(loop, first, second);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task running = loop.RunAsync(worker, stop.Token);
        TestBroker? atFirst = null;
        TestBroker? atSecond = null;
        try
        {
            // Neither listens: each round tries the first, then the second, and only then backs off, longer each round.
            for (int round = 0; round < 3; round++)
            {
                TimeSpan delay = await BackingOffAsync(loop, clock, running);
                Assert.InRange(delay, backoff.Ceiling(round) / 2, backoff.Ceiling(round));
                Assert.Equal(Enumerable.Repeat(new[] { first, second }, round + 1).SelectMany(p => p), worker.Ports);
                clock.Advance(delay);
                await Wait.UntilAsync(() => worker.Attempts > (2 * round) + 2, Timeout, $"round {round + 2}");
            }

            // Reported once per broker, not once per round.
            await BackingOffAsync(loop, clock, running);
            Assert.Equal(2, worker.Failures.Count);

            // The second comes up: the next round ends there, and the first is due for a look in five minutes.
            atSecond = await TestBroker.StartAsync(second);
            clock.Advance(await BackingOffAsync(loop, clock, running));
            await Wait.UntilAsync(() => loop.Rotation.ReturnAt is not null, Timeout, "a connection to the second broker");
            Assert.Equal(second, Assert.Single(worker.ConnectedPorts));
            Assert.Equal(clock.GetUtcNow() + preferFirstAfter, loop.Rotation.ReturnAt);

            // The first is back and the worker leaves for it: straight there, no backoff (the clock stands still).
            atFirst = await TestBroker.StartAsync(first);
            await loop.ReturnToFirstAsync(ct);
            await Wait.UntilAsync(() => worker.Connected == 2, Timeout, "a connection to the first broker");
            Assert.Equal(first, worker.ConnectedPorts[^1]);
            Assert.Null(loop.Rotation.ReturnAt);

            // The first dies: on to the second at once.
            await atFirst.DisposeAsync();
            atFirst = null;
            await Wait.UntilAsync(() => worker.Connected == 3, Timeout, "a connection to the second broker after losing the first");
            Assert.Equal(second, worker.ConnectedPorts[^1]);

            // The second dies too: the first is tried at once and refuses; the round (the lost second, the first) is over, so the loop backs off from the bottom.
            int attempts = worker.Attempts;
            await atSecond.DisposeAsync();
            atSecond = null;
            TimeSpan afterLoss = await BackingOffAsync(loop, clock, running);
            Assert.InRange(afterLoss, Min / 2, Min);
            Assert.Equal([first], worker.Ports.Skip(attempts));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
            if (atFirst is not null)
            {
                await atFirst.DisposeAsync();
            }

            if (atSecond is not null)
            {
                await atSecond.DisposeAsync();
            }
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

    /// <summary>A worker that connects to the loopback port of the loop's current broker and, once connected, waits for the connection to go.</summary>
    private sealed class RecordingWorker(MqttConnectionLoop loop, params int[] ports) : IMqttWorker
    {
        private readonly IMqttClient _client = loop.Client;
        private readonly List<int> _ports = [];
        private volatile int _connected;

        public int Attempts
        {
            get
            {
                lock (_ports)
                {
                    return _ports.Count;
                }
            }
        }

        /// <summary>The port of every attempt, in order.</summary>
        public int[] Ports
        {
            get
            {
                lock (_ports)
                {
                    return [.. _ports];
                }
            }
        }

        public int Connected => _connected;

        public List<int> ConnectedPorts { get; } = [];

        public int Lost { get; private set; }

        public int Ended { get; private set; }

        public List<string> Failures { get; } = [];

        public ValueTask<MqttConnectPlan> PlanAsync(CancellationToken ct)
        {
            int port = ports[loop.Rotation.Current];
            lock (_ports)
            {
                _ports.Add(port);
            }

            MqttClientOptions options = new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", port)
                .WithClientId("loop-test")
                .WithTimeout(TimeSpan.FromSeconds(5))
                .Build();
            return ValueTask.FromResult(new MqttConnectPlan("127.0.0.1", port, options));
        }

        public Task OnConnectedAsync(MqttConnectPlan plan, CancellationToken ct)
        {
            ConnectedPorts.Add(plan.Port);
            _connected++;
            return Task.CompletedTask;
        }

        public async Task RunAsync(CancellationToken ct)
        {
            var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _client.DisconnectedAsync += _ =>
            {
                gone.TrySetResult();
                return Task.CompletedTask;
            };
            if (_client.IsConnected)
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
