using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MQTTnet;
using MQTTnet.Protocol;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Benchmarks;

/// <summary>
/// The intake's load commands (docs/intake.md): hostile payloads, hostile packets, valid bursts, and throughput
/// against Mosquitto's own relay rate. Each starts a real gateway on loopback, runs a bounded load, and prints what
/// it counted; none of them is a timed test.
/// </summary>
internal static class IntakeRuns
{
    /// <summary>History:BatchSize for the throughput runs (--history-batch); 0 for the default.</summary>
    private static int s_historyBatch;

    /// <summary>fuzz [--payloads 1000000] [--canaries 1000]: hostile payloads through the intake, crossings hidden inside.</summary>
    public static async Task<int> FuzzAsync(string[] args)
    {
        int payloads = LoadSupport.Option(args, "--payloads", 1_000_000);
        int canaries = LoadSupport.Option(args, "--canaries", 1000);
        string state = Directory.CreateTempSubdirectory("sensorkit-fuzz-").FullName;
        using IHost gateway = await LoadSupport.StartGatewayAsync(LoadSupport.FreePort(), state);
        TelemetryIngest ingest = gateway.Services.GetRequiredService<TelemetryIngest>();
        var raised = new HashSet<string>(StringComparer.Ordinal);
        gateway.Services.GetRequiredService<SensorKit.Gateway.Alerts.AlertPublisher>().Published += a =>
        {
            lock (raised)
            {
                if (a.State == AlertState.Raised)
                {
                    raised.Add(a.Subject);
                }
            }
        };
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var fuzz = new PayloadFuzzer(seed: 20261201, "fuzz", now.AddMinutes(-1000));
        foreach (string node in fuzz.Nodes)
        {
            ingest.Handle(Topics.Status("fuzz", node), Encoding.UTF8.GetBytes(PayloadFuzzer.Status("fuzz", node)));
        }

        for (int c = 0; c < canaries; c++)
        {
            ingest.Handle(Topics.Status("fuzz", $"canary-{c}"), Encoding.UTF8.GetBytes(PayloadFuzzer.Status("fuzz", $"canary-{c}")));
        }

        long rssStart = LoadSupport.RssBytes();
        long rssMax = rssStart;
        var clock = Stopwatch.StartNew();
        int every = payloads / canaries;
        int canary = 0;
        for (int i = 0; i < payloads; i++)
        {
            (string topic, byte[] payload) = fuzz.Next();
            ingest.Handle(topic, payload);
            if (i % every == every / 2 && canary < canaries)
            {
                string node = $"canary-{canary++}";
                ingest.Handle(Topics.Telemetry("fuzz", node, "bme280", Quantities.Temperature), Encoding.UTF8.GetBytes(PayloadFuzzer.Valid("fuzz", node, 40, now, 1)));
            }

            if (i % 50_000 == 0)
            {
                rssMax = Math.Max(rssMax, LoadSupport.RssBytes());
            }
        }

        double seconds = clock.Elapsed.TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(1));
        int alerted;
        lock (raised)
        {
            alerted = raised.Count(s => s.StartsWith("canary-", StringComparison.Ordinal));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fuzz: {payloads} hostile payloads in {seconds:0.0} s ({payloads / seconds:0}/s); refused {ingest.Rejected}, accepted {ingest.Accepted}, duplicates {ingest.Duplicates}; handler failures {ingest.RejectedBy.GetValueOrDefault(TelemetryIngest.HandlerFailure)}"));
        Console.WriteLine($"fuzz: refused by reason: {string.Join(", ", ingest.RejectedBy.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}");
        Console.WriteLine($"fuzz: hidden crossings {canary}, alerts raised for them {alerted}, missed {canary - alerted}");
        Console.WriteLine($"fuzz: process RSS {rssStart / 1048576} MiB at start, {rssMax / 1048576} MiB at most");
        await gateway.StopAsync();
        Directory.Delete(state, recursive: true);
        return alerted == canary ? 0 : 1;
    }

    /// <summary>packet-fuzz [--packets 100000] [--connections 200]: mutated and oversized MQTT packets over many connections.</summary>
    public static async Task<int> PacketFuzzAsync(string[] args)
    {
        int packets = LoadSupport.Option(args, "--packets", 100_000);
        int connections = LoadSupport.Option(args, "--connections", 200);
        int port = LoadSupport.FreePort();
        string state = Directory.CreateTempSubdirectory("sensorkit-packet-fuzz-").FullName;
        var accounts = new LoadAccounts(state);
        accounts.Add([("fuzz", "real")]);
        using IHost gateway = await LoadSupport.StartGatewayAsync(port, state);
        EmbeddedBroker broker = gateway.Services.GetRequiredService<EmbeddedBroker>();
        int steps = 0;
        gateway.Services.GetRequiredService<SensorKit.Gateway.Alerts.AlertPublisher>().Published += _ => Interlocked.Increment(ref steps);
        using IMqttClient watcher = await LoadSupport.ClientAsync(port, "packet-fuzz-watcher");
        int alerts = 0;
        watcher.ApplicationMessageReceivedAsync += _ =>
        {
            Interlocked.Increment(ref alerts);
            return Task.CompletedTask;
        };
        await watcher.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("sensorkit/v1/+/alerts/event/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        using var buffer = new PayloadBuffer();
        using IMqttClient node = await LoadSupport.NodeClientAsync(port, accounts, "fuzz", "real");

        byte[] connect = MqttPackets.Connect(5, "fuzz");
        byte[] publish = MqttPackets.Publish(5, Topics.Status("fuzz", "x"), Encoding.UTF8.GetBytes(PayloadFuzzer.Status("fuzz", "x")));
        long rssStart = LoadSupport.RssBytes();
        long rssMax = rssStart;
        int sent = 0;
        int crossings = 0;
        var clock = Stopwatch.StartNew();
        using var sampler = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        using var done = new CancellationTokenSource();
        Task sampling = Task.Run(async () =>
        {
            while (await sampler.WaitForNextTickAsync(done.Token))
            {
                rssMax = Math.Max(rssMax, LoadSupport.RssBytes());
            }
        });
        Task fuzzing = Parallel.ForAsync(0, connections, async (c, ct) =>
        {
            var r = new Random(20261201 + c);
            while (Interlocked.Increment(ref sent) <= packets)
            {
                using var tcp = new TcpClient { NoDelay = true };
                await tcp.ConnectAsync("127.0.0.1", port, ct);
                NetworkStream s = tcp.GetStream();
                byte[] packet = r.Next(5) switch
                {
                    0 => MqttPackets.Mutate(r, connect),
                    1 => [.. connect, .. MqttPackets.Mutate(r, publish)],
                    2 => [0x10, 0xFF, 0xFF, 0xFF, 0x7F], // 256 MiB declared before login
                    3 => [.. connect, 0x30, 0xFF, 0xFF, 0xFF, 0x7F], // 256 MiB declared after login
                    _ => MqttPackets.RandomBytes(r),
                };
                try
                {
                    await s.WriteAsync(packet, ct);
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    wait.CancelAfter(50);
                    _ = await s.ReadAsync(new byte[64], wait.Token);
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                {
                    // Hung up on, or left waiting for the rest of a packet: both are the broker's business.
                }
            }
        });

        // Meanwhile a real node keeps crossing the threshold back and forth: every window is one alert step.
        await node.PublishAsync(LoadSupport.Message(Topics.Status("fuzz", "real"), LoadSupport.Status(buffer, "fuzz", "real")));
        // Far enough back that a long run's one-minute windows never end ahead of the clock (they would be refused).
        DateTimeOffset start = DateTimeOffset.UtcNow.AddDays(-30);
        while (!fuzzing.IsCompleted)
        {
            await node.PublishAsync(LoadSupport.Message(Topics.Telemetry("fuzz", "real", "bme280", Quantities.Temperature), LoadSupport.Window(buffer, "fuzz", "real", crossings % 2 == 0 ? 40 : 30, start.AddMinutes(crossings), crossings)));
            crossings++;
            await Task.Delay(20);
        }

        await fuzzing;
        double seconds = clock.Elapsed.TotalSeconds;
        int arrivedAtEnd = Volatile.Read(ref alerts);
        for (int i = 0; i < 600 && Volatile.Read(ref alerts) < crossings; i++)
        {
            await Task.Delay(50);
        }

        await done.CancelAsync();
        try
        {
            await sampling;
        }
        catch (OperationCanceledException)
        {
            // Sampling ends with the run.
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"packet-fuzz: {packets} hostile packets on as many connections, {connections} at a time, in {seconds:0.0} s; broker connections open at the end {broker.OpenConnections}"));
        Console.WriteLine($"packet-fuzz: a real node's {crossings} windows meanwhile, each an alert step: {steps} steps taken, {arrivedAtEnd} events arrived by the end of the fuzzing, {alerts} within 30 s after, {crossings - alerts} missing");
        Console.WriteLine($"packet-fuzz: process RSS {rssStart / 1048576} MiB at start, {rssMax / 1048576} MiB at most");
        await gateway.StopAsync();
        Directory.Delete(state, recursive: true);
        return alerts >= crossings ? 0 : 1;
    }

    /// <summary>burst [--windows 20000] [--publishers 4] [--rate 0] [--canaries 20]: a fleet's backlog, crossings hidden inside.</summary>
    public static async Task<int> BurstAsync(string[] args)
    {
        int windows = LoadSupport.Option(args, "--windows", 20_000);
        int publishers = LoadSupport.Option(args, "--publishers", 4);
        int rate = LoadSupport.Option(args, "--rate", 0);
        int canaries = LoadSupport.Option(args, "--canaries", 20);
        await using MosquittoProcess? mosquitto = LoadSupport.Flag(args, "--mosquitto") ? await MosquittoProcess.StartAsync() : null;
        int port = mosquitto?.Port ?? LoadSupport.FreePort();
        string state = Directory.CreateTempSubdirectory("sensorkit-burst-").FullName;
        var accounts = new LoadAccounts(state);
        accounts.Add([.. Enumerable.Range(0, publishers).Select(p => ("burst", $"b{p}")), .. Enumerable.Range(0, canaries).Select(c => ("burst", $"canary-{c}"))]);
        using IHost gateway = await LoadSupport.StartGatewayAsync(mosquitto is null ? port : LoadSupport.FreePort(), state, mosquitto is null ? null : $"mqtt://127.0.0.1:{port}");
        TelemetryIngest ingest = gateway.Services.GetRequiredService<TelemetryIngest>();
        int canaryAlerts = 0;
        gateway.Services.GetRequiredService<SensorKit.Gateway.Alerts.AlertPublisher>().Published += a =>
        {
            if (a.State == AlertState.Raised && a.Subject.StartsWith("canary-", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref canaryAlerts);
            }
        };
        using var statusBuffer = new PayloadBuffer();
        var clients = new List<IMqttClient>();
        for (int p = 0; p < publishers; p++)
        {
            IMqttClient c = await LoadSupport.NodeClientAsync(port, accounts, "burst", $"b{p}");
            await c.PublishAsync(LoadSupport.Message(Topics.Status("burst", $"b{p}"), LoadSupport.Status(statusBuffer, "burst", $"b{p}")));
            clients.Add(c);
        }

        var canaryClients = new IMqttClient[canaries];
        for (int c = 0; c < canaries; c++)
        {
            canaryClients[c] = await LoadSupport.NodeClientAsync(port, accounts, "burst", $"canary-{c}");
            await canaryClients[c].PublishAsync(LoadSupport.Message(Topics.Status("burst", $"canary-{c}"), LoadSupport.Status(statusBuffer, "burst", $"canary-{c}")));
        }

        await WaitForAsync(() => ingest.Nodes.Count >= publishers + canaries);
        long acceptedBefore = ingest.Accepted;
        DateTimeOffset start = DateTimeOffset.UtcNow.AddDays(-20);
        int perPublisher = windows / publishers;
        var runs = new List<PacedPublisher>();
        var clock = Stopwatch.StartNew();
        Task[] tasks = [.. clients.Select((c, p) =>
        {
            var payloads = new PayloadBuffer();
            var run = new PacedPublisher(c, rate / publishers);
            runs.Add(run);
            return run.RunAsync(i => LoadSupport.Message(Topics.Telemetry("burst", $"b{p}", "bme280", Quantities.Temperature), LoadSupport.Window(payloads, "burst", $"b{p}", 20, start.AddMinutes(i), i)), perPublisher, CancellationToken.None);
        })];

        var canaryBuffer = new PayloadBuffer();
        for (int c = 0; c < canaries; c++)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0.001, (rate > 0 ? windows / (double)rate : 0.5) / canaries)));
            await canaryClients[c].PublishAsync(LoadSupport.Message(Topics.Telemetry("burst", $"canary-{c}", "bme280", Quantities.Temperature), LoadSupport.Window(canaryBuffer, "burst", $"canary-{c}", 40, DateTimeOffset.UtcNow, 1)));
        }

        await Task.WhenAll(tasks);
        double seconds = clock.Elapsed.TotalSeconds;
        long acked = runs.Sum(r => r.Sent);
        await WaitForAsync(() => ingest.Accepted - acceptedBefore >= acked + canaries && Volatile.Read(ref canaryAlerts) >= canaries);
        long evaluated = ingest.Accepted - acceptedBefore - canaries;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"burst: {(mosquitto is null ? "embedded broker" : "external Mosquitto")}, {publishers} publishers, target {(rate == 0 ? "unthrottled" : $"{rate} msg/s")}: {acked} windows acknowledged in {seconds:0.00} s ({acked / seconds:0} msg/s), {runs.Sum(r => r.Failed)} refused"));
        Console.WriteLine($"burst: evaluated {evaluated} of {acked} acknowledged, lost {acked - evaluated}; refused at ingest {ingest.Rejected}; hidden crossings {canaries}, alerts {canaryAlerts}");
        foreach (IMqttClient c in clients.Concat(canaryClients))
        {
            c.Dispose();
        }

        await gateway.StopAsync();
        Directory.Delete(state, recursive: true);
        return acked == evaluated && canaryAlerts >= canaries ? 0 : 1;
    }

    /// <summary>
    /// throughput [--messages 100000] [--in-flight 100] [--rounds 3] [--history on|off|compare] [--history-batch N]: the gateway's ingest rate
    /// with the shipped packs, every message acknowledged only once evaluated (and journalled for the history when it is
    /// on), against Mosquitto's QoS 1 relay from one publisher to one subscriber, same run. With compare, rounds alternate
    /// between history off and on instead, and Mosquitto is left out.
    /// </summary>
    public static async Task<int> ThroughputAsync(string[] args)
    {
        int messages = LoadSupport.Option(args, "--messages", 100_000);
        int inFlight = LoadSupport.Option(args, "--in-flight", 100);
        int rounds = LoadSupport.Option(args, "--rounds", 3);
        string history = LoadSupport.Text(args, "--history", "on");
        s_historyBatch = LoadSupport.Option(args, "--history-batch", 0);
        if (history is not ("on" or "off" or "compare"))
        {
            Console.Error.WriteLine($"--history: '{history}' is not on, off or compare");
            return 2;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: {messages} QoS 1 windows, {inFlight} in flight, {rounds} rounds alternating"));
        if (history == "compare")
        {
            var off = new List<double>();
            var on = new List<double>();
            var cpuOff = new List<double>();
            var cpuOn = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                // Off first in even rounds, on first in odd ones, so warm-up and a drifting machine favour neither.
                (double Rate, double CatchUpMs, double Cpu) x = default, y = default;
                if (round % 2 == 1)
                {
                    y = await GatewayRunAsync(messages, inFlight, history: true);
                }

                x = await GatewayRunAsync(messages, inFlight, history: false);
                if (round % 2 == 0)
                {
                    y = await GatewayRunAsync(messages, inFlight, history: true);
                }

                off.Add(x.Rate);
                on.Add(y.Rate);
                cpuOff.Add(x.Cpu);
                cpuOn.Add(y.Cpu);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: round {round + 1}: history off {x.Rate:0} msg/s ({x.Cpu:0.0} µs CPU a message), on {y.Rate:0} msg/s ({y.Cpu:0.0} µs); the history had every window {y.CatchUpMs:0} ms after the last PUBACK"));
            }

            cpuOff.Sort();
            cpuOn.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: CPU time of the whole process a message (publisher, broker, gateway; median): history off {cpuOff[rounds / 2]:0.0} µs, on {cpuOn[rounds / 2]:0.0} µs"));
            off.Sort();
            on.Sort();
            double a = off[rounds / 2];
            double b = on[rounds / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: gateway ingest, history off: median {a:0} msg/s ({string.Join(", ", off.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))})"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: gateway ingest, history on: median {b:0} msg/s ({string.Join(", ", on.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))})"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: ratio on / off {b / a:0.00}"));
            return 0;
        }

        var gatewayRates = new List<double>();
        var mosquittoRates = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            gatewayRates.Add((await GatewayRateAsync(messages, inFlight, history == "on")).Rate);
            mosquittoRates.Add(await MosquittoRelayRateAsync(messages, inFlight));
        }

        gatewayRates.Sort();
        mosquittoRates.Sort();
        double g = gatewayRates[rounds / 2];
        double m = mosquittoRates[rounds / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: gateway ingest (embedded broker, shipped packs, history {history}, PUBACK after evaluation): median {g:0} msg/s ({string.Join(", ", gatewayRates.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: Mosquitto relay publisher -> subscriber: median {m:0} msg/s ({string.Join(", ", mosquittoRates.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: ratio gateway / Mosquitto {g / m:0.00}"));
        return 0;
    }

    /// <summary>Messages per second up to the last PUBACK, and how long after it the history held every window (0 when off).</summary>
    private static async Task<(double Rate, double CatchUpMs)> GatewayRateAsync(int messages, int inFlight, bool history)
    {
        (double rate, double catchUp, _) = await GatewayRunAsync(messages, inFlight, history);
        return (rate, catchUp);
    }

    /// <summary>As <see cref="GatewayRateAsync"/>, and the process's CPU time per message until the history had them all.</summary>
    private static async Task<(double Rate, double CatchUpMs, double CpuMicroseconds)> GatewayRunAsync(int messages, int inFlight, bool history)
    {
        int port = LoadSupport.FreePort();
        string state = Directory.CreateTempSubdirectory("sensorkit-throughput-").FullName;
        var accounts = new LoadAccounts(state);
        accounts.Add([("tp", "n0")]);
        using IHost gateway = await LoadSupport.StartGatewayAsync(port, state, shippedPacks: true, history: history, historyBatch: s_historyBatch);
        TelemetryIngest ingest = gateway.Services.GetRequiredService<TelemetryIngest>();
        SensorKit.Gateway.History.HistoryRecorder recorder = gateway.Services.GetRequiredService<SensorKit.Gateway.History.HistoryRecorder>();
        using IMqttClient publisher = await LoadSupport.NodeClientAsync(port, accounts, "tp", "n0");
        using var buffer = new PayloadBuffer();
        await publisher.PublishAsync(LoadSupport.Message(Topics.Status("tp", "n0"), LoadSupport.Status(buffer, "tp", "n0")));
        (string[] topics, byte[][] payloads) = Windows(buffer, messages);
        long before = ingest.Accepted;
        var run = new PacedPublisher(publisher, 0, inFlight);
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await run.RunAsync(i => LoadSupport.Message(topics[i], payloads[i]), messages, CancellationToken.None);
        double seconds = clock.Elapsed.TotalSeconds;
        long evaluated = ingest.Accepted - before;
        if (evaluated != messages || run.Failed > 0)
        {
            Console.WriteLine($"throughput: gateway evaluated {evaluated} of {messages}, {run.Failed} refused");
        }

        double catchUp = 0;
        if (history)
        {
            await WaitForAsync(() => recorder.Stored >= messages);
            catchUp = (clock.Elapsed.TotalSeconds - seconds) * 1000;
            if (recorder.Stored < messages)
            {
                Console.WriteLine($"throughput: the history stored {recorder.Stored} of {messages} within a minute");
            }
        }

        double cpuPerMessage = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / messages;
        await gateway.StopAsync();
        Directory.Delete(state, recursive: true);
        return (messages / seconds, catchUp, cpuPerMessage);
    }

    private static async Task<double> MosquittoRelayRateAsync(int messages, int inFlight)
    {
        await using MosquittoProcess mosquitto = await MosquittoProcess.StartAsync();
        using IMqttClient subscriber = await LoadSupport.ClientAsync(mosquitto.Port, "relay-subscriber");
        int received = 0;
        var all = new TaskCompletionSource();
        subscriber.ApplicationMessageReceivedAsync += _ =>
        {
            if (Interlocked.Increment(ref received) == messages)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        };
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("sensorkit/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        using IMqttClient publisher = await LoadSupport.ClientAsync(mosquitto.Port, "relay-publisher");
        using var buffer = new PayloadBuffer();
        (string[] topics, byte[][] payloads) = Windows(buffer, messages);
        var run = new PacedPublisher(publisher, 0, inFlight);
        var clock = Stopwatch.StartNew();
        await run.RunAsync(i => LoadSupport.Message(topics[i], payloads[i]), messages, CancellationToken.None);
        await all.Task.WaitAsync(TimeSpan.FromMinutes(2));
        return messages / clock.Elapsed.TotalSeconds;
    }

    /// <summary>The same messages for both sides: one node's 100 channels, one-minute windows in the past.</summary>
    private static (string[] Topics, byte[][] Payloads) Windows(PayloadBuffer buffer, int messages)
    {
        DateTimeOffset start = DateTimeOffset.UtcNow.AddDays(-20);
        string[] topics = [.. Enumerable.Range(0, messages).Select(i => Topics.Telemetry("tp", "n0", $"s{i % 100}", Quantities.Temperature))];
        byte[][] payloads = [.. Enumerable.Range(0, messages).Select(i => LoadSupport.Window(buffer, "tp", "n0", 20, start.AddMinutes(i / 100), i, $"s{i % 100}"))];
        return (topics, payloads);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }
    }
}
