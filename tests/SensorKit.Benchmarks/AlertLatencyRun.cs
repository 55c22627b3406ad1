using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.Metrics;
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
using SensorKit.Gateway.Alerts;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;

namespace SensorKit.Benchmarks;

/// <summary>
/// A bounded load run on loopback: a real gateway (embedded broker, SQLite state, CAP) and an MQTT client that sends
/// telemetry crossing a threshold back and forth, so every message is one alert step (raise or clear). Reports, per
/// alert, the gateway's own latency from the telemetry message received to the broker accepting the alert event
/// (the sensorkit.gateway.alert.latency histogram), and the latency a subscriber sees from publishing the telemetry
/// to receiving the alert event.
/// </summary>
/// <remarks>
/// Usage: alert-latency [--alerts 2000] [--rate 50] [--warmup 200] [--nodes 10] [--background 5000] [--mosquitto].
/// --background sends that many valid windows per second from 100 other nodes meanwhile (QoS 1, 200 in flight);
/// --mosquitto runs the gateway on an external Mosquitto it starts, instead of the embedded broker.
/// </remarks>
public static class AlertLatencyRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        int alerts = Option(args, "--alerts", 2000);
        int rate = Option(args, "--rate", 50);
        int warmup = Option(args, "--warmup", 200);
        int nodes = Option(args, "--nodes", 10);
        int background = LoadSupport.Option(args, "--background", 0);
        await using MosquittoProcess? mosquitto = LoadSupport.Flag(args, "--mosquitto") ? await MosquittoProcess.StartAsync() : null;
        int port = mosquitto?.Port ?? FreePort();
        string state = Directory.CreateTempSubdirectory("sensorkit-latency-").FullName;

        // Every node publishes through its own account, as the embedded broker requires.
        var accounts = new LoadAccounts(state);
        accounts.Add([.. Enumerable.Range(0, nodes).Select(n => ("bench", $"n{n}")), ("fleet", "background")]);

        var gatewayLatency = new List<double>(alerts + warmup);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AlertPublisher.MeterName && instrument.Name == "sensorkit.gateway.alert.latency")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, ms, _, _) =>
        {
            lock (gatewayLatency)
            {
                gatewayLatency.Add(ms);
            }
        });
        listener.Start();

        using IHost gateway = await LoadSupport.StartGatewayAsync(mosquitto is null ? port : FreePort(), state, mosquitto is null ? null : $"mqtt://127.0.0.1:{port}");

        var factory = new MqttClientFactory();
        using IMqttClient subscriber = factory.CreateMqttClient();
        var sentAt = new Dictionary<string, long>(StringComparer.Ordinal);
        var endToEnd = new List<double>(alerts + warmup);
        var received = new SemaphoreSlim(0);
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            long now = Stopwatch.GetTimestamp();
            if (ProtocolJson.TryReadAlert(e.ApplicationMessage.Payload.ToArray(), out AlertMessage? a, out _))
            {
                lock (sentAt)
                {
                    // The step's key: node and revision parity (raise or clear) of the message that caused it.
                    if (sentAt.Remove($"{a.Subject}/{a.State}", out long t0))
                    {
                        endToEnd.Add(Stopwatch.GetElapsedTime(t0, now).TotalMilliseconds);
                    }
                }

                received.Release();
            }

            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId("latency-subscriber").Build());
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("sensorkit/v1/+/alerts/event/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        var publishers = new IMqttClient[nodes];
        for (int n = 0; n < nodes; n++)
        {
            publishers[n] = await LoadSupport.NodeClientAsync(port, accounts, "bench", $"n{n}");
        }

        using var buffer = new PayloadBuffer();
        for (int n = 0; n < nodes; n++)
        {
            var status = new NodeStatusMessage { Site = "bench", Node = $"n{n}", State = NodeState.Online, Time = DateTimeOffset.UtcNow, Location = new GeoLocation(50.9 + (n * 0.001), 6.9, 50) };
            await publishers[n].PublishAsync(Message(Topics.Status("bench", $"n{n}"), buffer.Status(status).ToArray(), retain: true));
        }

        DateTimeOffset start = new(DateTimeOffset.UtcNow.AddHours(-1).Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);

        // Background: ordinary telemetry, none of it near the threshold, from a node of another site with 100 channels.
        using var stopBackground = new CancellationTokenSource();
        using IMqttClient? backgroundClient = background > 0 ? await LoadSupport.NodeClientAsync(port, accounts, "fleet", "background") : null;
        PacedPublisher? backgroundPublisher = null;
        Task backgroundRun = Task.CompletedTask;
        if (backgroundClient is not null)
        {
            using var bgBuffer = new PayloadBuffer();
            await backgroundClient.PublishAsync(LoadSupport.Message(Topics.Status("fleet", "background"), LoadSupport.Status(bgBuffer, "fleet", "background"), retain: true));

            DateTimeOffset bgStart = DateTimeOffset.UtcNow.AddDays(-20);
            var bgPayloads = new PayloadBuffer();
            backgroundPublisher = new PacedPublisher(backgroundClient, background);
            backgroundRun = backgroundPublisher.RunAsync(
                i => LoadSupport.Message(Topics.Telemetry("fleet", "background", $"s{i % 100}", Quantities.Temperature), LoadSupport.Window(bgPayloads, "fleet", "background", 20, bgStart.AddMinutes(i / 100), i, $"s{i % 100}")),
                long.MaxValue,
                stopBackground.Token);
            // Let the background reach its rate before measuring.
            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        var clock = Stopwatch.StartNew();
        long backgroundAtStart = backgroundPublisher?.Sent ?? 0;
        using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / rate));
        int total = alerts + warmup;
        for (int i = 0; i < total; i++)
        {
            await pace.WaitForNextTickAsync();
            int node = i % nodes;
            int step = i / nodes;
            bool hot = step % 2 == 0;
            double mean = hot ? 40 : 30;
            var t = new TelemetryMessage
            {
                Site = "bench",
                Node = $"n{node}",
                Sensor = "bme280",
                Quantity = Quantities.Temperature,
                Unit = Units.Celsius,
                Sequence = step + 1,
                WindowStart = start.AddSeconds(step),
                WindowEnd = start.AddSeconds(step + 1),
                Count = 6,
                Expected = 6,
                Min = mean,
                Max = mean,
                Mean = mean,
                First = mean,
                Last = mean,
            };
            lock (sentAt)
            {
                sentAt[$"n{node}/{(hot ? AlertState.Raised : AlertState.Cleared)}"] = Stopwatch.GetTimestamp();
            }

            await publishers[node].PublishAsync(Message(Topics.Telemetry("bench", $"n{node}", "bme280", Quantities.Temperature), buffer.Telemetry(t).ToArray(), retain: false));
        }

        int arrived = 0;
        while (arrived < total && await received.WaitAsync(TimeSpan.FromSeconds(30)))
        {
            arrived++;
        }

        double seconds = clock.Elapsed.TotalSeconds;
        await stopBackground.CancelAsync();
        try
        {
            await backgroundRun;
        }
        catch (OperationCanceledException)
        {
            // The background stops when the measurement does.
        }

        foreach (IMqttClient p in publishers)
        {
            p.Dispose();
        }

        await gateway.StopAsync();
        listener.Dispose();
        Directory.Delete(state, recursive: true);

        Console.WriteLine($"alert-latency: {alerts} alert steps measured after {warmup} warm-up steps, {rate}/s, {nodes} nodes, {(mosquitto is null ? "embedded broker" : "external Mosquitto")} on loopback");
        if (backgroundPublisher is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"background: {backgroundPublisher.Sent - backgroundAtStart} windows acknowledged in the {seconds:0.0} s measured ({(backgroundPublisher.Sent - backgroundAtStart) / seconds:0} msg/s, target {background}), {backgroundPublisher.Failed} refused"));
        }

        Console.WriteLine($"alert steps: {total} caused, {arrived} arrived, {total - arrived} lost");
        Report("gateway: telemetry received -> alert event accepted by broker", gatewayLatency.Skip(warmup).ToList());
        Report("subscriber: telemetry published -> alert event received", endToEnd.Skip(warmup).ToList());
        return 0;
    }

    private static void Report(string what, List<double> ms)
    {
        ms.Sort();
        double P(double q) => ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(q * ms.Count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: n={ms.Count} p50={P(0.50):0.00} ms p90={P(0.90):0.00} ms p99={P(0.99):0.00} ms max={ms[^1]:0.00} ms"));
    }

    private static MqttApplicationMessage Message(string topic, byte[] payload, bool retain) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build();

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int v) && v > 0 ? v : fallback;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
