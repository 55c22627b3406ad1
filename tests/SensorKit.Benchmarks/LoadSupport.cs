using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using SensorKit.Gateway;
using SensorKit.Gateway.Broker.Accounts;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;

namespace SensorKit.Benchmarks;

/// <summary>What the load commands share: a real gateway in-process, a Mosquitto child process, paced QoS 1 publishing.</summary>
internal static class LoadSupport
{
    public static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int v) && v >= 0 ? v : fallback;
    }

    public static bool Flag(string[] args, string name) => Array.IndexOf(args, name) >= 0;

    public static string Text(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>
    /// A gateway with a heat threshold (and optionally the shipped packs), on the embedded broker or an external one.
    /// Its accounts file is <see cref="LoadAccounts.File"/> of <paramref name="state"/>: nodes publish through their own accounts.
    /// </summary>
    /// <param name="history">Whether the gateway keeps the telemetry history (History:Enabled).</param>
    /// <param name="historyBatch">History:BatchSize; 0 for its default.</param>
    public static async Task<IHost> StartGatewayAsync(int port, string state, string? externalUri = null, bool shippedPacks = false, bool history = true, int historyBatch = 0, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var config = new Dictionary<string, string?>
        {
            ["Broker:Mode"] = externalUri is null ? "Embedded" : "External",
            ["Broker:Address"] = "127.0.0.1",
            ["Broker:Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Broker:Uri"] = externalUri,
            ["Broker:AccountsFile"] = externalUri is null ? LoadAccounts.File(state) : null,
            ["State:Directory"] = state,
            ["CapFeed:Enabled"] = "false",
            ["History:Enabled"] = history ? "true" : "false",
            ["Rules:Threshold:0:Id"] = "bench-heat",
            ["Rules:Threshold:0:Quantity"] = "temperature",
            ["Rules:Threshold:0:Above"] = "35",
            ["Rules:Threshold:0:Hysteresis"] = "1",
        };
        if (historyBatch > 0)
        {
            config["History:BatchSize"] = historyBatch.ToString(CultureInfo.InvariantCulture);
        }

        if (shippedPacks)
        {
            string[] packs = ["heat", "storm", "flood", "wildfire-smoke", "shelter-co2", "operator"];
            for (int i = 0; i < packs.Length; i++)
            {
                config[$"Rules:Packs:{i}"] = packs[i];
            }
        }

        foreach ((string key, string? value) in extra ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        HostApplicationBuilder b = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        b.Configuration.AddInMemoryCollection(config);
        b.Logging.ClearProviders();
        b.Services.AddSensorKitGateway();
        IHost gateway = b.Build();
        await gateway.StartAsync();
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10));
        return gateway;
    }

    /// <summary>An anonymous client (read-only at the embedded broker).</summary>
    public static async Task<IMqttClient> ClientAsync(int port, string id)
    {
        IMqttClient c = new MqttClientFactory().CreateMqttClient();
        await c.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(id).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build());
        return c;
    }

    /// <summary>A node's client, logged in with its account (which an external Mosquitto without accounts ignores).</summary>
    public static async Task<IMqttClient> NodeClientAsync(int port, LoadAccounts accounts, string site, string node)
    {
        (string name, string password) = accounts.Node(site, node);
        IMqttClient c = new MqttClientFactory().CreateMqttClient();
        MqttClientConnectResult r = await c.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(name)
            .WithCredentials(name, password).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithTimeout(TimeSpan.FromSeconds(30)).Build());
        if (r.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"node {site}/{node} was refused: {r.ResultCode}");
        }

        return c;
    }

    public static MqttApplicationMessage Message(string topic, byte[] payload, bool retain = false) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build();

    public static byte[] Status(PayloadBuffer buffer, string site, string node) =>
        buffer.Status(new NodeStatusMessage { Site = site, Node = node, State = NodeState.Online, Time = DateTimeOffset.UtcNow, Location = new GeoLocation(50.9, 6.9, 50) }).ToArray();

    public static byte[] Window(PayloadBuffer buffer, string site, string node, double mean, DateTimeOffset end, long seq, string sensor = "bme280") =>
        buffer.Telemetry(new TelemetryMessage
        {
            Site = site,
            Node = node,
            Sensor = sensor,
            Quantity = Quantities.Temperature,
            Unit = Units.Celsius,
            Sequence = seq,
            WindowStart = end.AddMinutes(-1),
            WindowEnd = end,
            Count = 6,
            Expected = 6,
            Min = mean,
            Max = mean,
            Mean = mean,
            First = mean,
            Last = mean,
        }).ToArray();

    public static double Percentile(List<double> sorted, double q) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(q * sorted.Count) - 1))];

    public static string Ms(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);

    public static long RssBytes()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }
}

/// <summary>
/// Node accounts for a load run, written to the accounts file the gateway reads (it picks up changes), as
/// `sensorkit-gateway accounts add` would: every node publishes only as itself.
/// </summary>
internal sealed class LoadAccounts(string state)
{
    private readonly Dictionary<(string, string), (string, string)> _known = [];
    private AccountRegistry _registry = AccountRegistry.Empty;

    public static string File(string state) => Path.Combine(state, "accounts.json");

    /// <summary>Creates the accounts of all these nodes at once (one file write).</summary>
    public void Add(IEnumerable<(string Site, string Node)> nodes)
    {
        foreach ((string site, string node) in nodes)
        {
            if (!_known.ContainsKey((site, node)))
            {
                string name = $"{site}.{node}";
                string password = PasswordHash.NewPassword();
                _registry = _registry.With(new Account(name, AccountRole.Node, site, node, PasswordHash.Create(password)));
                _known[(site, node)] = (name, password);
            }
        }

        _registry.Save(File(state));
    }

    public (string Name, string Password) Node(string site, string node)
    {
        if (!_known.TryGetValue((site, node), out (string, string) a))
        {
            Add([(site, node)]);
            a = _known[(site, node)];
        }

        return a;
    }
}

/// <summary>Mosquitto as a child process on a free loopback port, stopped by its PID.</summary>
internal sealed class MosquittoProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private MosquittoProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public static async Task<MosquittoProcess> StartAsync()
    {
        string exe = new[] { "/usr/sbin/mosquitto", "/usr/bin/mosquitto" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("mosquitto is not installed (apt-get install mosquitto)");
        int port = LoadSupport.FreePort();
        string dir = Directory.CreateTempSubdirectory("sensorkit-bench-mosquitto-").FullName;
        string conf = Path.Combine(dir, "mosquitto.conf");
        // Nagle off (facts: 2.35k vs 39.7k msg/s), and queues large enough that Mosquitto drops nothing it acknowledged.
        await File.WriteAllTextAsync(conf, $"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\nmax_queued_messages 1000000\nmax_inflight_messages 100\nlog_type error\n");
        Process p = Process.Start(new ProcessStartInfo(exe, ["-c", conf]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        for (int i = 0; i < 200; i++)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return new MosquittoProcess(p, dir, port);
            }
            catch (SocketException)
            {
                await Task.Delay(25);
            }
        }

        throw new InvalidOperationException("mosquitto did not start listening");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Sends QoS 1 messages at a set rate (0: as fast as the window allows) with a bounded number in flight.</summary>
internal sealed class PacedPublisher(IMqttClient client, int rate, int maxInFlight = 200)
{
    private readonly SemaphoreSlim _window = new(maxInFlight);
    private long _sent;
    private long _failed;

    public long Sent => Interlocked.Read(ref _sent);

    public long Failed => Interlocked.Read(ref _failed);

    public async Task RunAsync(Func<long, MqttApplicationMessage> next, long count, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var pending = new List<Task>();
        for (long i = 0; i < count && !ct.IsCancellationRequested; i++)
        {
            if (rate > 0)
            {
                // Pace against the clock, not by sleeping per message: a late tick sends the backlog at once.
                double due = i / (double)rate;
                double wait = due - clock.Elapsed.TotalSeconds;
                if (wait > 0.001)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait), ct);
                }
            }

            await _window.WaitAsync(ct);
            pending.Add(SendAsync(next(i)));
            if (pending.Count > 10_000)
            {
                pending.RemoveAll(t => t.IsCompleted);
            }
        }

        await Task.WhenAll(pending);
    }

    private async Task SendAsync(MqttApplicationMessage m)
    {
        try
        {
            MqttClientPublishResult r = await client.PublishAsync(m);
            Interlocked.Increment(ref r.IsSuccess ? ref _sent : ref _failed);
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException)
        {
            Interlocked.Increment(ref _failed);
        }
        finally
        {
            _window.Release();
        }
    }
}
