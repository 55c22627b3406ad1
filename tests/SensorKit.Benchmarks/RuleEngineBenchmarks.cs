using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway;
using SensorKit.Gateway.Alerts;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Rules;
using SensorKit.Gateway.State;
using SensorKit.Protocol;

namespace SensorKit.Benchmarks;

/// <summary>
/// The gateway's per-message cost when nothing changes (the common case): one window of air pressure from a node
/// of a site with the storm, heat, flood and operator packs in force, through the rules alone and through
/// ingest (JSON parsing included).
/// </summary>
[MemoryDiagnoser]
public class RuleEngineBenchmarks : IDisposable
{
    private readonly PayloadBuffer _buffer = new();
    private IHost _host = null!;
    private RuleEngine _engine = null!;
    private TelemetryIngest _ingest = null!;
    private string _state = null!;
    private string _topic = null!;
    private TelemetryMessage _message;
    private DateTimeOffset _end;

    [GlobalSetup]
    public void Setup()
    {
        _state = Directory.CreateTempSubdirectory("sensorkit-bench-").FullName;
        HostApplicationBuilder b = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["State:Directory"] = _state,
            // The host is not started, so the history's service does not run: measure the rules and the reader alone.
            ["History:Enabled"] = "false",
            ["Rules:Packs:0"] = "storm",
            ["Rules:Packs:1"] = "heat",
            ["Rules:Packs:2"] = "flood",
            ["Rules:Packs:3"] = "operator",
        });
        b.Logging.ClearProviders();
        b.Services.AddSensorKitGateway();
        _host = b.Build();
        _host.Services.GetRequiredService<IAlertStore>().Open();
        _engine = _host.Services.GetRequiredService<RuleEngine>();
        _engine.Restore();
        _ingest = _host.Services.GetRequiredService<TelemetryIngest>();
        _engine.OnStatus(new NodeStatusMessage { Site = "bench", Node = "n1", State = NodeState.Online, Time = DateTimeOffset.UtcNow });
        _end = DateTimeOffset.UtcNow.AddDays(-30);
        _message = new TelemetryMessage
        {
            Site = "bench",
            Node = "n1",
            Sensor = "bme280",
            Quantity = Quantities.Pressure,
            Unit = Units.Pascal,
            Sequence = 1,
            WindowStart = _end,
            WindowEnd = _end,
            Count = 6,
            Expected = 6,
            Min = 101_300,
            Max = 101_300,
            Mean = 101_300,
            First = 101_300,
            Last = 101_300,
        };
        _topic = Topics.Telemetry("bench", "n1", "bme280", Quantities.Pressure);

        // Fill the storm rule's 3-hour window, so the ring buffer has reached its size.
        for (int i = 0; i < 400; i++)
        {
            Rules();
        }
    }

    /// <summary>Rule evaluation of one window, no alert step.</summary>
    [Benchmark]
    public TelemetryOutcome Rules()
    {
        _end = _end.AddMinutes(1);
        return _engine.OnTelemetry(_message with { WindowStart = _end.AddMinutes(-1), WindowEnd = _end, Sequence = _message.Sequence + 1 });
    }

    /// <summary>The same from the JSON payload, as it arrives over MQTT: validation and parsing included.</summary>
    [Benchmark]
    public long IngestPayload()
    {
        _end = _end.AddMinutes(1);
        // Serialising into the reusable buffer is part of the measurement (about a fifth of it, PayloadBenchmarks).
        _ingest.Handle(_topic, _buffer.Telemetry(_message with { WindowStart = _end.AddMinutes(-1), WindowEnd = _end }).Span);
        return _ingest.Accepted;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host.Dispose();
        Directory.Delete(_state, recursive: true);
    }

    public void Dispose()
    {
        _buffer.Dispose();
        GC.SuppressFinalize(this);
    }
}
