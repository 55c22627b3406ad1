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
using SensorKit.Gateway.Broker.Accounts;
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
/// <remarks>Usage: alert-latency [--alerts 2000] [--rate 50] [--warmup 200] [--nodes 10]</remarks>
public static class AlertLatencyRun
{
    public static async Task<int> RunAsync(string[] args)
    {
        int alerts = Option(args, "--alerts", 2000);
        int rate = Option(args, "--rate", 50);
        int warmup = Option(args, "--warmup", 200);
        int nodes = Option(args, "--nodes", 10);
        int port = FreePort();
        string state = Directory.CreateTempSubdirectory("sensorkit-latency-").FullName;

        // Each node publishes through its own account, as the broker requires.
        string[] passwords = [.. Enumerable.Range(0, nodes).Select(_ => PasswordHash.NewPassword())];
        AccountRegistry registry = AccountRegistry.Empty;
        for (int n = 0; n < nodes; n++)
        {
            registry = registry.With(new Account($"n{n}", AccountRole.Node, "bench", $"n{n}", PasswordHash.Create(passwords[n])));
        }

        string accountsFile = Path.Combine(state, "accounts.json");
        registry.Save(accountsFile);

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

        HostApplicationBuilder b = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Mode"] = "Embedded",
            ["Broker:Address"] = "127.0.0.1",
            ["Broker:Port"] = port.ToString(CultureInfo.InvariantCulture),
            ["Broker:AccountsFile"] = accountsFile,
            ["State:Directory"] = state,
            ["CapFeed:Enabled"] = "false",
            ["Rules:Threshold:0:Id"] = "heat",
            ["Rules:Threshold:0:Quantity"] = "temperature",
            ["Rules:Threshold:0:Above"] = "35",
            ["Rules:Threshold:0:Hysteresis"] = "1",
        });
        b.Logging.ClearProviders();
        b.Services.AddSensorKitGateway();
        using IHost gateway = b.Build();
        await gateway.StartAsync();
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10));

        var factory = new MqttClientFactory();
        using IMqttClient subscriber = factory.CreateMqttClient();
        IMqttClient[] publishers = [.. Enumerable.Range(0, nodes).Select(_ => factory.CreateMqttClient())];
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
        for (int n = 0; n < nodes; n++)
        {
            await publishers[n].ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId($"sensorkit-bench-n{n}").WithCredentials($"n{n}", passwords[n]).Build());
        }

        using var buffer = new PayloadBuffer();
        for (int n = 0; n < nodes; n++)
        {
            var status = new NodeStatusMessage { Site = "bench", Node = $"n{n}", State = NodeState.Online, Time = DateTimeOffset.UtcNow, Location = new GeoLocation(50.9 + (n * 0.001), 6.9, 50) };
            await publishers[n].PublishAsync(Message(Topics.Status("bench", $"n{n}"), buffer.Status(status).ToArray(), retain: true));
        }

        DateTimeOffset start = new(DateTimeOffset.UtcNow.AddHours(-1).Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);
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

        for (int i = 0; i < total; i++)
        {
            if (!await received.WaitAsync(TimeSpan.FromSeconds(30)))
            {
                await Console.Error.WriteLineAsync($"only {i} of {total} alert events arrived");
                return 1;
            }
        }

        foreach (IMqttClient p in publishers)
        {
            p.Dispose();
        }

        await gateway.StopAsync();
        listener.Dispose();
        Directory.Delete(state, recursive: true);

        Console.WriteLine($"alert-latency: {alerts} alert steps measured after {warmup} warm-up steps, {rate}/s, {nodes} nodes, embedded broker on loopback");
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
