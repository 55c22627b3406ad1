using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Hosting;

namespace SensorKit.Tests.Deployment;

public sealed class SystemdWatchdogTests
{
    [Theory]
    [InlineData("30000000", null, 15_000.0)]
    [InlineData("30000000", "4242", 15_000.0)]
    [InlineData("1000", "", 0.5)]
    public void Pings_at_half_the_watchdog_interval(string usec, string? pid, double expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), SystemdWatchdog.PingInterval(usec, pid, 4242));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("0", null)]
    [InlineData("-5", null)]
    [InlineData("soon", null)]
    [InlineData("30000000", "1")]
    [InlineData("30000000", "x")]
    public void No_watchdog_when_unset_malformed_or_meant_for_another_process(string? usec, string? pid)
    {
        Assert.Null(SystemdWatchdog.PingInterval(usec, pid, 4242));
    }

    [Fact]
    public async Task Pings_on_a_drift_free_schedule()
    {
        var time = new FakeTimeProvider();
        var notifier = new RecordingNotifier();
        using var watchdog = new SystemdWatchdog(notifier, time, NullLogger.Instance, TimeSpan.FromSeconds(15));
        await watchdog.StartAsync(TestContext.Current.CancellationToken);

        await notifier.WaitForCountAsync(1);
        time.Advance(TimeSpan.FromSeconds(14));
        Assert.Equal(1, notifier.Count);
        time.Advance(TimeSpan.FromSeconds(1));
        await notifier.WaitForCountAsync(2);
        time.Advance(TimeSpan.FromSeconds(15));
        await notifier.WaitForCountAsync(3);

        await watchdog.StopAsync(TestContext.Current.CancellationToken);
        Assert.All(notifier.States, s => Assert.Equal("WATCHDOG=1", s));
    }

    [Fact]
    public async Task Stays_silent_without_systemd_or_without_a_watchdog()
    {
        var time = new FakeTimeProvider();
        var disabled = new RecordingNotifier { IsEnabled = false };
        var enabled = new RecordingNotifier();
        using var outsideSystemd = new SystemdWatchdog(disabled, time, NullLogger.Instance, TimeSpan.FromSeconds(1));
        using var noWatchdog = new SystemdWatchdog(enabled, time, NullLogger.Instance, null);
        await outsideSystemd.StartAsync(TestContext.Current.CancellationToken);
        await noWatchdog.StartAsync(TestContext.Current.CancellationToken);

        // Both finish at once without waiting on the clock, and no ping goes out even after time passed.
        await outsideSystemd.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await noWatchdog.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(0, disabled.Count);
        Assert.Equal(0, enabled.Count);
    }

    /// <summary>
    /// The production wiring against a real notify socket: the systemd lifetime sends READY=1 and STOPPING=1,
    /// the watchdog service reads WATCHDOG_USEC like under systemd and sends WATCHDOG=1 datagrams.
    /// </summary>
    [Fact]
    public async Task Ready_and_watchdog_datagrams_reach_the_notify_socket()
    {
        string dir = Directory.CreateTempSubdirectory("sensorkit-notify-").FullName;
        string path = Path.Combine(dir, "notify");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));

        SystemdNotifier notifier;
        IHost host;
        string?[] saved = [Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID")];
        try
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", path);
            Environment.SetEnvironmentVariable("WATCHDOG_USEC", "200000");
            Environment.SetEnvironmentVariable("WATCHDOG_PID", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            notifier = new SystemdNotifier();
            HostApplicationBuilder b = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            b.Logging.ClearProviders();
            b.Services.AddSingleton<ISystemdNotifier>(notifier);
            b.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
            b.Services.AddSystemdWatchdog();
            host = b.Build();

            // The watchdog reads the variables when it is created, as at process start under systemd.
            _ = host.Services.GetServices<IHostedService>().ToArray();
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", saved[0]);
            Environment.SetEnvironmentVariable("WATCHDOG_USEC", saved[1]);
            Environment.SetEnvironmentVariable("WATCHDOG_PID", saved[2]);
        }

        using (host)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(100), host.Services.GetServices<IHostedService>().OfType<SystemdWatchdog>().Single().Interval);
            await host.StartAsync(TestContext.Current.CancellationToken);
            var received = new List<string>();
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(10));
            byte[] buffer = new byte[256];
            while (!(received.Contains("READY=1") && received.Count(r => r == "WATCHDOG=1") >= 3))
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                received.Add(Encoding.UTF8.GetString(buffer, 0, n));
            }

            await host.StopAsync(TestContext.Current.CancellationToken);
            while (!received.Contains("STOPPING=1"))
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                received.Add(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }

        Directory.Delete(dir, recursive: true);
    }

    private sealed class RecordingNotifier : ISystemdNotifier
    {
        private readonly List<string> _states = [];
        private readonly SemaphoreSlim _notified = new(0);

        public bool IsEnabled { get; init; } = true;

        public int Count
        {
            get
            {
                lock (_states)
                {
                    return _states.Count;
                }
            }
        }

        public IReadOnlyList<string> States
        {
            get
            {
                lock (_states)
                {
                    return [.. _states];
                }
            }
        }

        public void Notify(ServiceState state)
        {
            lock (_states)
            {
                _states.Add(state.ToString());
            }

            _notified.Release();
        }

        public async Task WaitForCountAsync(int count)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (Count < count)
            {
                await _notified.WaitAsync(cts.Token);
            }
        }
    }
}
