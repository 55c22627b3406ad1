using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using SensorKit.Gateway.Alerts;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Rules;
using SensorKit.Gateway.State;
using SensorKit.Protocol;
using SensorKit.Tests.Alerts.Cap;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>
/// The gateway's real ingest, rules, lifecycle, CAP writer and state store (SQLite, or PostgreSQL when the
/// configuration says State:Provider PostgreSql), wired by the gateway's own DI setup,
/// on a <see cref="FakeTimeProvider"/> and without MQTT: messages go in as the JSON payloads a broker would
/// deliver, alert messages come out as the MQTT messages the connection would publish. Every CAP document is
/// validated against the CAP 1.2 schema and its signature checked as it comes out.
/// </summary>
internal sealed class AlertingHarness : IDisposable
{
    public static readonly DateTimeOffset Day = new(2026, 7, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly IHost _host;
    private readonly Dictionary<string, long> _seq = new(StringComparer.Ordinal);
    private readonly PayloadBuffer _buffer = new();
    private readonly bool _ownsDirectory;
    private bool _keep;
    private bool _disposed;

    private AlertingHarness(string stateDirectory, bool ownsDirectory, string rulesJson, Dictionary<string, string?>? config, DateTimeOffset start)
    {
        StateDirectory = stateDirectory;
        _ownsDirectory = ownsDirectory;
        Clock = new FakeTimeProvider(start);
        string rules = Path.Combine(stateDirectory, "rules.json");
        File.WriteAllText(rules, rulesJson);
        var settings = new Dictionary<string, string?>
        {
            ["State:Directory"] = stateDirectory,
            ["Rules:Packs:0"] = rules,
            ["Rules:Settle"] = "00:00:05",
            ["Cap:Sender"] = "gateway.sensorkit.test",
            ["CapFeed:Enabled"] = "false",
            // With the feed off, CAP web links need to know where a copy of it is served.
            ["CapFeed:PublicBaseUrl"] = "https://gateway.sensorkit.test/",
        };
        foreach ((string key, string? value) in config ?? [])
        {
            settings[key] = value;
        }

        StateSettings = settings.Where(s => s.Key.StartsWith("State:", StringComparison.Ordinal) && s.Key != "State:Directory").ToDictionary();

        _host = Hosts.Gateway(settings, s => s.AddSingleton<TimeProvider>(Clock));
        Engine = _host.Services.GetRequiredService<RuleEngine>();
        Ingest = _host.Services.GetRequiredService<TelemetryIngest>();
        Lifecycle = _host.Services.GetRequiredService<AlertLifecycle>();
        Store = _host.Services.GetRequiredService<IAlertStore>();
        Publisher = _host.Services.GetRequiredService<AlertPublisher>();
        Signer = _host.Services.GetRequiredService<CapSigner>();
        Publisher.Published += m => Alerts.Add(m);
        Store.Open();
        Engine.Restore();
        Drain();
    }

    public FakeTimeProvider Clock { get; }

    public string StateDirectory { get; }

    /// <summary>Where the state is beside the folder (State:Provider, State:ConnectionString): a restart keeps them.</summary>
    public IReadOnlyDictionary<string, string?> StateSettings { get; }

    public RuleEngine Engine { get; }

    public TelemetryIngest Ingest { get; }

    public AlertLifecycle Lifecycle { get; }

    public IAlertStore Store { get; }

    public AlertPublisher Publisher { get; }

    public CapSigner Signer { get; }

    /// <summary>False to leave queued messages unsent, as if the broker were unreachable.</summary>
    public bool AutoDrain { get; set; } = true;

    /// <summary>Every alert message queued, in order.</summary>
    public List<AlertMessage> Alerts { get; } = [];

    /// <summary>Every MQTT message the connection would have published, in order.</summary>
    public List<MqttApplicationMessage> Mqtt { get; } = [];

    /// <summary>
    /// Every CAP document published, already checked against the CAP 1.2 schema, its signature verified, and checked
    /// against the Google Public Alerts profile as one stream (<see cref="Profile"/>).
    /// </summary>
    public List<string> Cap { get; } = [];

    /// <summary>The profile check of <see cref="Cap"/>; a test allows a finding on purpose in <see cref="CapProfile.Stream.Allowed"/>.</summary>
    public CapProfile.Stream Profile { get; } = new() { CheckLapses = false };

    public static AlertingHarness Start(string rulesJson, Dictionary<string, string?>? config = null, DateTimeOffset? start = null) =>
        new(Directory.CreateTempSubdirectory("sensorkit-alerting-").FullName, true, rulesJson, config, start ?? Day);

    /// <summary>A second gateway on the state of <paramref name="previous"/>, as after a restart; the caller owns its folder.</summary>
    public static AlertingHarness Restart(AlertingHarness previous, string rulesJson, DateTimeOffset now, Dictionary<string, string?>? config = null)
    {
        var settings = new Dictionary<string, string?>(previous.StateSettings);
        foreach ((string key, string? value) in config ?? [])
        {
            settings[key] = value;
        }

        return new(previous.StateDirectory, false, rulesJson, settings, now);
    }

    /// <summary>
    /// Moves the gateway clock to <paramref name="t"/> (never backwards) and runs its periodic checks. From the
    /// first call on, an alert whose CAP message expires before the next one is sent fails the profile check.
    /// </summary>
    public void At(DateTimeOffset t)
    {
        Profile.CheckLapses = true;
        if (t > Clock.GetUtcNow())
        {
            Clock.SetUtcNow(t);
        }

        Engine.Tick();
        DrainIfAuto();
    }

    public void Status(string site, string node, NodeState state = NodeState.Online, double lat = 50.94, double lon = 6.96, bool located = true, params (string Id, SensorHealth Health)[] sensors)
    {
        var status = new NodeStatusMessage
        {
            Site = site,
            Node = node,
            State = state,
            Time = Clock.GetUtcNow(),
            Firmware = "0.1.0",
            Location = located ? new GeoLocation(lat, lon, 50) : null,
            Sensors = sensors.Length == 0
                ? [new SensorStatus { Id = "bme280", Type = "bme280", Bus = 1, Address = 0x76, Health = SensorHealth.Ok }]
                : [.. sensors.Select(s => new SensorStatus { Id = s.Id, Type = "bme280", Bus = 1, Address = 0x76, Health = s.Health, ConsecutiveFailures = s.Health == SensorHealth.Failed ? 5 : 0, LastError = s.Health == SensorHealth.Ok ? null : "IOException: no acknowledge" })],
        };
        Ingest.Handle(Topics.Status(site, node), _buffer.Status(status).ToArray());
        DrainIfAuto();
    }

    /// <summary>One window aggregate ending at <paramref name="end"/>; the gateway clock moves to its end first.</summary>
    public void Telemetry(string site, string node, string quantity, double mean, DateTimeOffset end, TimeSpan? window = null, string sensor = "bme280", QualityFlags flags = QualityFlags.None, bool backfill = false)
    {
        TimeSpan w = window ?? TimeSpan.FromMinutes(1);
        if (end > Clock.GetUtcNow())
        {
            Clock.SetUtcNow(end);
        }

        long seq = _seq[node] = _seq.GetValueOrDefault(node) + 1;
        var m = new TelemetryMessage
        {
            Site = site,
            Node = node,
            Sensor = sensor,
            Quantity = quantity,
            Unit = UnitOf(quantity),
            Sequence = seq,
            WindowStart = end - w,
            WindowEnd = end,
            Count = 6,
            Expected = 6,
            Min = mean,
            Max = mean,
            Mean = mean,
            First = mean,
            Last = mean,
            Flags = flags,
            Backfill = backfill,
        };
        Ingest.Handle(Topics.Telemetry(site, node, sensor, quantity), _buffer.Telemetry(m).ToArray());
        DrainIfAuto();
    }

    public static string UnitOf(string quantity) => quantity switch
    {
        Quantities.Temperature or "heat-index" => Units.Celsius,
        Quantities.Humidity => Units.RelativeHumidityPercent,
        Quantities.Pressure => Units.Pascal,
        Quantities.WaterLevel => Units.Metre,
        Quantities.GasResistance => Units.Ohm,
        Quantities.Co2 => Units.PartsPerMillion,
        Quantities.Voltage => Units.Volt,
        _ => "1",
    };

    /// <summary>Alert steps as "state rule/subject severity/certainty nodes @hh:mm" for table assertions.</summary>
    public IReadOnlyList<string> Timeline(string? rule = null) =>
        [.. Alerts.Where(a => rule is null || a.Rule == rule).Select(Describe)];

    public static string Describe(AlertMessage a) => string.Create(
        CultureInfo.InvariantCulture,
        $"{a.State.ToString()[0]} {a.Subject} {a.Severity}/{a.Certainty} [{string.Join(",", a.Nodes)}] @{Hhmm(a.Time)}");

    /// <summary>Minutes since <see cref="Day"/> as "hh:mm" (or "d.hh:mm").</summary>
    public static string Hhmm(DateTimeOffset t)
    {
        TimeSpan since = t - Day;
        return since.Days > 0 ? since.ToString(@"d\.hh\:mm", CultureInfo.InvariantCulture) : since.ToString(@"hh\:mm", CultureInfo.InvariantCulture);
    }

    private void DrainIfAuto()
    {
        if (AutoDrain)
        {
            Drain();
        }
    }

    /// <summary>Takes the queued MQTT messages as the connection would, and marks steps sent as it would.</summary>
    public void Drain()
    {
        while (Publisher.Outgoing.TryRead(out OutgoingAlert? m))
        {
            Mqtt.Add(m.Message);
            if (m.Message.ContentType == CapWriter.MediaType)
            {
                string xml = Encoding.UTF8.GetString(m.Message.Payload);
                IReadOnlyList<string> errors = CapSchema.Validate(xml);
                Assert.True(errors.Count == 0, $"CAP message on {m.Message.Topic} fails the schema: {string.Join("; ", errors)}\n{xml}");
                Assert.True(CapSignature.Verify(m.Message.Payload.ToArray(), Signer.Certificate, out string failure), $"CAP message on {m.Message.Topic}: {failure}\n{xml}");
                List<string> findings = Profile.Add(xml);
                Assert.True(findings.Count == 0, $"CAP message on {m.Message.Topic} breaks the Google Public Alerts profile: {string.Join("; ", findings)}\n{xml}");
                Cap.Add(xml);
            }

            Publisher.OnSent(m);
            if (m.Identifier is { } id)
            {
                Store.MarkPublished(id);
            }
        }

        Assert.Equal(0, Lifecycle.CapInvalid);
        Assert.Equal(0, Lifecycle.StoreFailures);
    }

    /// <summary>A clean stop: rule state written, as the gateway does when it stops. The state folder stays.</summary>
    public void Shutdown()
    {
        Engine.Flush();
        Crash();
    }

    /// <summary>Gone without a word, as in a power cut: nothing written beyond the last alert step. The state folder stays.</summary>
    public void Crash()
    {
        _keep = true;
        Dispose();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _buffer.Dispose();
        _host.Dispose();
        if (_ownsDirectory && !_keep)
        {
            Hosts.DeleteQuietly(StateDirectory);
        }
    }
}
