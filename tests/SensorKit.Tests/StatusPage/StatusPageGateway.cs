using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.State;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using SensorKit.Gateway.Connection;

namespace SensorKit.Tests.StatusPage;

/// <summary>
/// A real gateway with what the status page must show: an active public heat alert at node n1 (with a day of
/// history behind it), node n2 lost, and node n3 whose last value is doubtful. Nodes publish over MQTT with their
/// own accounts; the page is served by the gateway's Kestrel on a free loopback port.
/// </summary>
public sealed class StatusPageGateway : IAsyncLifetime
{
    public const string Headline = "Hitze: Bitte kühle Räume aufsuchen";

    /// <summary>Settings beside <see cref="Config"/>, set before <see cref="InitializeAsync"/>.</summary>
    public Dictionary<string, string?> Extra { get; init; } = [];

    public IHost Host { get; private set; } = null!;

    public int BrokerPort { get; private set; }

    /// <summary>Where the gateway's HTTP host listens, e.g. http://127.0.0.1:40123/.</summary>
    public Uri Base { get; private set; } = null!;

    public Uri Page(string path) => new(Base, path.TrimStart('/'));

    public static Dictionary<string, string?> Config(int port)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(port);
        config["Rules:Threshold:0:Id"] = "hot";
        config["Rules:Threshold:0:Quantity"] = Quantities.Temperature;
        config["Rules:Threshold:0:Above"] = "35";
        config["Rules:Threshold:0:Severity"] = "Severe";
        config["Rules:Threshold:0:RadiusKm"] = "2";
        config["Rules:Threshold:0:Text:de-DE:Event"] = "Hitze";
        config["Rules:Threshold:0:Text:de-DE:Headline"] = Headline;
        config["Rules:Threshold:0:Text:de-DE:Instruction"] = "Bleiben Sie drinnen. Trinken Sie viel Wasser.";
        config["Rules:Threshold:0:Text:en-US:Event"] = "Heat";
        config["Rules:Threshold:0:Text:en-US:Headline"] = "Heat: please go to a cool room";
        config["Rules:Threshold:0:Text:en-US:Instruction"] = "Stay indoors. Drink plenty of water.";
        config["Cap:Sites:test:de-DE"] = "Teststadt";
        config["Cap:Sites:test:en-US"] = "Test town";
        return config;
    }

    public async ValueTask InitializeAsync()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        BrokerPort = FreePort.Get();
        Dictionary<string, string?> config = Config(BrokerPort);
        foreach ((string key, string? value) in Extra)
        {
            config[key] = value;
        }

        Host = Hosts.Gateway(config);
        await Host.StartAsync(ct);
        await Host.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Base = Host.Services.GetRequiredService<CapFeedServer>().ListenAddress!;

        DateTimeOffset now = DateTimeOffset.UtcNow;
        await PublishAsync("n1", NodeState.Online, now, 50.9400, 6.9600, SensorHealth.Ok, day: true, last: 41, QualityFlags.None);
        await PublishAsync("n2", NodeState.Lost, now.AddMinutes(-20), 50.9460, 6.9700, SensorHealth.Failed, day: false, last: 22, QualityFlags.None);
        await PublishAsync("n3", NodeState.Online, now, 50.9350, 6.9520, SensorHealth.Degraded, day: false, last: 23.5, QualityFlags.Gaps | QualityFlags.ReadErrors);
        IAlertStore store = Host.Services.GetRequiredService<IAlertStore>();
        await Wait.UntilAsync(() => store.LoadAlerts().Any(a => a.Rule == "hot"), TimeSpan.FromSeconds(10), "the heat alert at n1");
        await Host.Services.GetRequiredService<HistoryRecorder>().FlushAsync().WaitAsync(TimeSpan.FromSeconds(10), ct);
    }

    /// <summary>A node's status and windows over MQTT with its own account; with <paramref name="day"/>, one window every 30 minutes over the last day.</summary>
    public async Task PublishAsync(string node, NodeState state, DateTimeOffset time, double lat, double lon, SensorHealth health, bool day, double last, QualityFlags flags)
    {
        await using MqttProbe client = await MqttProbe.StartAsync(BrokerPort, null, account: TestAccounts.Node(BrokerPort, "test", node));
        using var buffer = new PayloadBuffer();
        await client.PublishAsync(Topics.Status("test", node), buffer.Status(new NodeStatusMessage
        {
            Site = "test",
            Node = node,
            State = state,
            Time = time,
            Firmware = "1.4.2",
            Location = new GeoLocation(lat, lon, 53),
            Sensors = [new SensorStatus { Id = "bme280", Type = "bme280", Bus = 1, Address = 0x76, Health = health, ConsecutiveFailures = health == SensorHealth.Ok ? 0 : 4, LastError = health == SensorHealth.Ok ? null : "NACK at 0x76" }],
            Outbox = new OutboxStatus { Queued = 0, Bytes = 0, Dropped = 0, CorruptRecords = 0 },
        }).ToArray(), retain: true);
        long seq = 0;
        DateTimeOffset end = DateTimeOffset.UtcNow.AddMinutes(-1);
        var windows = new List<(DateTimeOffset End, double Mean, QualityFlags Flags)>();
        if (day)
        {
            for (int i = 47; i >= 1; i--)
            {
                windows.Add((end.AddMinutes(-30 * i), 22 + (6 * Math.Sin(i / 7.0)), i == 20 ? QualityFlags.Gaps : QualityFlags.None));
            }
        }

        windows.Add((end, last, flags));
        foreach ((DateTimeOffset windowEnd, double mean, QualityFlags f) in windows)
        {
            foreach ((string quantity, string unit, double value) in new[] { (Quantities.Temperature, Units.Celsius, mean), (Quantities.Humidity, Units.RelativeHumidityPercent, 80 - mean) })
            {
                await client.PublishAsync(Topics.Telemetry("test", node, "bme280", quantity), buffer.Telemetry(new TelemetryMessage
                {
                    Site = "test",
                    Node = node,
                    Sensor = "bme280",
                    Quantity = quantity,
                    Unit = unit,
                    Sequence = ++seq,
                    WindowStart = windowEnd.AddMinutes(-1),
                    WindowEnd = windowEnd,
                    Count = 6,
                    Expected = 6,
                    Min = value - 0.4,
                    Max = value + 0.4,
                    Mean = value,
                    StdDev = 0.2,
                    First = value,
                    Last = value,
                    Flags = f,
                    Backfill = windowEnd < end,
                }).ToArray());
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(CancellationToken.None);
        Host.Dispose();
    }
}
