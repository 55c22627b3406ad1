using Microsoft.Extensions.Configuration;
using SensorKit.Protocol;
using SensorKit.Tests.Gateway.Alerting;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.AlertQuality;

/// <summary>
/// Scripted node traffic into the whole gateway rule path (<see cref="AlertingHarness"/>) with the rules the
/// worker ships: the "Rules" section of the worker's appsettings.json, so its pack list by name. Times are minutes
/// since <see cref="AlertingHarness.Day"/>; the gateway clock runs its periodic checks every CheckInterval on the way.
/// </summary>
internal sealed class QualityFeed : IDisposable
{
    public static readonly TimeSpan WindowLength = TimeSpan.FromMinutes(1);

    /// <summary>Operator:CheckInterval's default: how often the gateway's periodic checks run.</summary>
    public static readonly TimeSpan Check = TimeSpan.FromSeconds(5);

    /// <summary>Outbox:ReplayRate's default (50 messages a second): the gap between backfilled messages.</summary>
    public static readonly TimeSpan ReplayGap = TimeSpan.FromMilliseconds(20);

    private readonly PayloadBuffer _buffer = new();
    private DateTimeOffset _nextCheck;

    private QualityFeed(AlertingHarness harness)
    {
        Harness = harness;
        _nextCheck = harness.Clock.GetUtcNow() + Check;
    }

    public AlertingHarness Harness { get; }

    public DateTimeOffset Now => Harness.Clock.GetUtcNow();

    public static QualityFeed Start() => new(AlertingHarness.Start("{}", WorkerRules()));

    /// <summary>The worker's own "Rules" keys (Rules:Packs:0 = heat, …); they replace the harness's pack list.</summary>
    public static Dictionary<string, string?> WorkerRules()
    {
        string file = Path.Combine(RepoPaths.Root, "gateway", "SensorKit.Gateway.Worker", "appsettings.json");
        IConfigurationSection rules = new ConfigurationBuilder().AddJsonFile(file, optional: false).Build().GetSection("Rules");
        Dictionary<string, string?> keys = rules.AsEnumerable().Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        Assert.True(keys.Keys.Any(k => k.StartsWith("Rules:Packs:", StringComparison.Ordinal)), $"{file} names no rule packs");

        // The product's defaults for public rules, stated: the test hosts otherwise pin the per-node, one-window
        // behaviour older tests were written for (Support/Hosts.cs).
        var defaults = new SensorKit.Gateway.Rules.RuleDefaultsOptions();
        keys["Rules:Defaults:Scope"] = defaults.Scope.ToString();
        keys["Rules:Defaults:MinWindows"] = defaults.MinWindows.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return keys;
    }

    public static DateTimeOffset At(double minutes) => AlertingHarness.Day + TimeSpan.FromMinutes(minutes);

    /// <summary>Moves the gateway clock to <paramref name="t"/>, running the periodic checks due on the way.</summary>
    public void AdvanceTo(DateTimeOffset t)
    {
        while (_nextCheck <= t)
        {
            Harness.At(_nextCheck);
            _nextCheck += Check;
        }

        if (t > Now)
        {
            Harness.Clock.SetUtcNow(t);
        }
    }

    public void Status(string site, string node, NodeState state = NodeState.Online, SensorHealth health = SensorHealth.Ok, string sensor = "bme280", long queued = 0, double lat = 50.94, double lon = 6.96)
    {
        var status = new NodeStatusMessage
        {
            Site = site,
            Node = node,
            State = state,
            Time = Now,
            Firmware = "0.1.0",
            Location = new GeoLocation(lat, lon, 50),
            Sensors =
            [
                new SensorStatus
                {
                    Id = sensor,
                    Type = sensor,
                    Bus = 1,
                    Address = 0x76,
                    Health = health,
                    ConsecutiveFailures = health switch { SensorHealth.Failed => 5, SensorHealth.Degraded => 1, _ => 0 },
                    LastError = health == SensorHealth.Ok ? null : "IOException: no acknowledge",
                },
            ],
            Outbox = new OutboxStatus { Queued = queued, Bytes = queued * 400, Dropped = 0, CorruptRecords = 0 },
        };
        Assert.True(Harness.Ingest.Handle(Topics.Status(site, node), _buffer.Status(status).Span), $"status of {node} refused");
        Harness.Drain();
    }

    /// <summary>
    /// One window aggregate per channel, all ending at <paramref name="end"/>, delivered at the current gateway time
    /// (the clock moves to <paramref name="end"/> first if it is behind). Backfilled windows come one <see cref="ReplayGap"/> apart.
    /// </summary>
    public void Windows(string site, string node, DateTimeOffset end, (string Quantity, double Mean)[] channels, string sensor = "bme280", QualityFlags flags = QualityFlags.None, int count = 6, bool backfill = false)
    {
        AdvanceTo(end);
        for (int i = 0; i < channels.Length; i++)
        {
            (string quantity, double mean) = channels[i];
            if (backfill)
            {
                AdvanceTo(Now + ReplayGap);
            }

            // In the order the node produced them, whatever order they arrive in.
            long seq = ((long)(end - AlertingHarness.Day).TotalMinutes * 16) + i + 1;
            var m = new TelemetryMessage
            {
                Site = site,
                Node = node,
                Sensor = sensor,
                Quantity = quantity,
                Unit = AlertingHarness.UnitOf(quantity),
                Sequence = seq,
                WindowStart = end - WindowLength,
                WindowEnd = end,
                Count = count,
                Expected = 6,
                Errors = (flags & QualityFlags.ReadErrors) != 0 ? 6 - count : 0,
                Min = mean,
                Max = mean,
                Mean = mean,
                First = mean,
                Last = mean,
                Flags = flags,
                Backfill = backfill,
            };
            Assert.True(Harness.Ingest.Handle(Topics.Telemetry(site, node, sensor, quantity), _buffer.Telemetry(m).Span), $"window {end:HH:mm} of {node} {quantity} refused");
            Harness.Drain();
        }
    }

    public void Window(string site, string node, DateTimeOffset end, string quantity, double mean, string sensor = "bme280", QualityFlags flags = QualityFlags.None, bool backfill = false) =>
        Windows(site, node, end, [(quantity, mean)], sensor, flags, backfill: backfill);

    public void Dispose()
    {
        _buffer.Dispose();
        Harness.Dispose();
    }
}
