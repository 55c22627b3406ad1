using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.Broker.Accounts;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Outputs.OpenData;
using SensorKit.Node;
using SensorKit.Simulation;

namespace SensorKit.Demo;

/// <summary>
/// Starts the gateway with its embedded broker, then simulated nodes that run the real firmware
/// code against emulated sensors, and prints what a subscriber sees until Ctrl+C or --duration.
/// </summary>
public static class DemoRunner
{
    /// <summary>The simulated fleet: one node per scenario, each at its own place on the scenario's clock.</summary>
    public static IReadOnlyList<DemoNode> Fleet { get; } =
    [
        // Starts at 10:00 on a heat-wave day; at 720× the afternoon peak passes 35 °C within about 15 s.
        new("heat-1", "heat-wave", TimeSpan.FromHours(10), 720, 50.9375, 6.9603, 53),
        new("storm-1", "storm", TimeSpan.FromMinutes(30), 720, 50.9400, 6.9700, 48),
        new("quiet-1", "quiet-day", TimeSpan.Zero, 720, 50.9300, 6.9500, 60),
        // Faults unfold in minutes, so this node plays at 60×: NACK at 5 s, stuck at 20 s, unplugged at 40 s.
        new("flaky-1", "sensor-faults", TimeSpan.Zero, 60, 50.9350, 6.9650, 55),
    ];

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        DemoOptions options;
        try
        {
            options = DemoOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await error.WriteLineAsync($"sensorkit-demo: {e.Message}");
            await error.WriteLineAsync(DemoOptions.Usage);
            return 2;
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        if (options.Duration is { } duration)
        {
            stop.CancelAfter(duration);
        }

        return await RunAsync(options, output, error, stop.Token);
    }

    public static async Task<int> RunAsync(DemoOptions options, TextWriter output, TextWriter error, CancellationToken ct)
    {
        // The demo is an exercise: its alert state lives in a scratch folder that goes with it.
        string state = Directory.CreateTempSubdirectory("sensorkit-demo-").FullName;
        try
        {
            return await RunAsync(options, state, output, error, ct);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task<int> RunAsync(DemoOptions options, string state, TextWriter output, TextWriter error, CancellationToken ct)
    {
        ProvisionFleet(state);
        using IHost gateway = BuildGateway(options, state);
        try
        {
            await gateway.StartAsync(ct);
        }
        catch (SocketException e)
        {
            await error.WriteLineAsync($"sensorkit-demo: cannot listen on 127.0.0.1:{options.Port}: {e.Message}. Is another broker running? Try --port 18830.");
            return 1;
        }
        catch (GatewayConfigurationException e)
        {
            await error.WriteLineAsync($"sensorkit-demo: {e.Message}. Try --feed-port 0.");
            return 1;
        }

        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await output.WriteLineAsync($"SensorKit demo: gateway with embedded MQTT broker on 127.0.0.1:{options.Port}; {Fleet.Count} simulated nodes.");
        await output.WriteLineAsync($"Watch the raw traffic with: mosquitto_sub -h 127.0.0.1 -p {options.Port} -t 'sensorkit/#' -v");
        CapFeedServer feed = gateway.Services.GetRequiredService<CapFeedServer>();
        await output.WriteLineAsync($"CAP feed (alerts as OASIS CAP 1.2, marked Exercise, signed): {feed.FeedAddress}");
        if (gateway.Services.GetRequiredService<OpenDataLinks>().ServiceRoot is { } sta)
        {
            await output.WriteLineAsync($"Open data (OGC SensorThings API 1.1, read only): {sta}");
            await output.WriteLineAsync($"Its observations as they arrive (SensorThings MQTT): mosquitto_sub -h 127.0.0.1 -p {options.Port} -t 'v1.1/#' -v");
        }

        if (feed.BaseAddress is { } http)
        {
            await output.WriteLineAsync($"Gateway counters (Prometheus text format): {new Uri(http, "metrics")}");
            await output.WriteLineAsync($"Status page (warnings as they happen, sites and nodes; Deutsch/English): {new Uri(http, "status/")}");
        }
        await output.WriteLineAsync(options.Duration is { } d ? $"Running for {d.TotalSeconds:0} s." : "Press Ctrl+C to stop.");

        await using var view = new LiveView(output, TimeProvider.System);
        await view.StartAsync("127.0.0.1", options.Port, ct);

        var nodes = Fleet.Select(n => BuildNode(n, options, state)).ToList();
        var started = new List<IHost>();
        try
        {
            foreach (IHost node in nodes)
            {
                await node.StartAsync(ct);
                started.Add(node);
            }

            await Task.Delay(Timeout.InfiniteTimeSpan, ct).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
        finally
        {
            using var shutdown = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            // Only a host that started can be stopped; every one is disposed.
            foreach (IHost node in started)
            {
                await node.StopAsync(shutdown.Token);
            }

            nodes.ForEach(node => node.Dispose());

            await view.FlushAsync();
            TelemetryIngest ingest = gateway.Services.GetRequiredService<TelemetryIngest>();
            await output.WriteLineAsync($"Stopped. Gateway accepted {ingest.Accepted} messages, rejected {ingest.Rejected}; {view.AlertsSeen} alert messages seen.");
            await gateway.StopAsync(shutdown.Token);
        }

        return 0;
    }


    /// <summary>
    /// One broker account per simulated node, as `sensorkit-gateway accounts add NODE --site demo` makes them; the passwords
    /// go into the demo's scratch folder, one file per node, as a node's credential file would.
    /// </summary>
    public static void ProvisionFleet(string stateDirectory)
    {
        AccountRegistry registry = AccountRegistry.Empty;
        foreach (DemoNode n in Fleet)
        {
            string password = PasswordHash.NewPassword();
            registry = registry.With(new Account(n.Id, AccountRole.Node, "demo", n.Id, PasswordHash.Create(password)));
            File.WriteAllText(PasswordFile(stateDirectory, n), password + "\n");
        }

        registry.Save(AccountsFile(stateDirectory));
    }

    private static string AccountsFile(string stateDirectory) => Path.Combine(stateDirectory, "accounts.json");

    private static string PasswordFile(string stateDirectory, DemoNode n) => Path.Combine(stateDirectory, $"{n.Id}.password");

    public static IHost BuildGateway(DemoOptions options, string stateDirectory)
    {
        HostApplicationBuilder b = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory, DisableDefaults = true });
        b.Configuration.AddInMemoryCollection(GatewayConfiguration(options.Port, options.FeedPort, stateDirectory));
        Quiet(b);
        b.Services.AddSensorKitGateway();
        return b.Build();
    }

    /// <summary>
    /// The demo's rules: the shipped heat, storm and operator packs. The demo plays hours of weather in seconds, so
    /// for its site the hold times of minutes are set to zero, and the lone storm node may confirm a storm alone.
    /// </summary>
    public static Dictionary<string, string?> GatewayConfiguration(int port, int feedPort, string stateDirectory) => new()
    {
        ["Broker:Mode"] = "Embedded",
        ["Broker:Address"] = "127.0.0.1",
        ["Broker:Port"] = port.ToString(CultureInfo.InvariantCulture),
        ["Broker:AccountsFile"] = AccountsFile(stateDirectory),
        ["Rules:Packs:0"] = "heat",
        ["Rules:Packs:1"] = "storm",
        ["Rules:Packs:2"] = "operator",
        ["Rules:Sites:demo:heat-perceived-temperature:Hold"] = "00:00:00",
        ["Rules:Sites:demo:storm-pressure-fall:Hold"] = "00:00:00",
        ["Rules:Sites:demo:storm-pressure-fall:Quorum"] = "1",
        ["State:Directory"] = stateDirectory,
        ["Cap:Sender"] = "sensorkit-demo.invalid",
        ["Cap:Contact"] = "SensorKit-Demo: Simulation, keine Leitstelle erreichbar / SensorKit demo: a simulation, no control room to reach",
        ["Cap:Sites:demo:de-DE"] = "SensorKit-Demo",
        ["Cap:Sites:demo:en-US"] = "SensorKit demo",
        ["CapFeed:Port"] = feedPort.ToString(CultureInfo.InvariantCulture),
    };

    public static IHost BuildNode(DemoNode n, DemoOptions options, string stateDirectory)
    {
        HostApplicationBuilder b = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory, DisableDefaults = true });
        b.Configuration.AddInMemoryCollection(NodeConfiguration(n, options, stateDirectory));
        Quiet(b);
        b.Services.AddSensorKitNode();
        b.Services.AddSensorKitSimulation();
        return b.Build();
    }

    public static Dictionary<string, string?> NodeConfiguration(DemoNode n, DemoOptions options, string stateDirectory) => new()
    {
        ["Node:Id"] = n.Id,
        ["Node:Site"] = "demo",
        ["Node:Location:Latitude"] = n.Latitude.ToString(CultureInfo.InvariantCulture),
        ["Node:Location:Longitude"] = n.Longitude.ToString(CultureInfo.InvariantCulture),
        ["Node:Location:Altitude"] = n.Altitude.ToString(CultureInfo.InvariantCulture),
        ["Node:Window"] = options.Window.ToString("c", CultureInfo.InvariantCulture),
        ["Node:StatusInterval"] = "00:00:30",
        ["Node:Sensors:0:Type"] = "bme280",
        ["Node:Sensors:0:Address"] = "0x76",
        ["Node:Sensors:0:Interval"] = options.SampleInterval.ToString("c", CultureInfo.InvariantCulture),
        ["Mqtt:Broker"] = $"mqtt://127.0.0.1:{options.Port}",
        ["Mqtt:ReconnectMin"] = "00:00:00.200",
        ["Mqtt:Username"] = n.Id,
        ["Mqtt:PasswordFile"] = PasswordFile(stateDirectory, n),
        // Each node needs its own outbox; the demo's are thrown away when it stops.
        // In the run's own state folder: two demos (or two tests) never share an outbox.
        ["Outbox:Directory"] = Path.Combine(stateDirectory, "outbox", n.Id),
        ["Simulation:Enabled"] = "true",
        ["Simulation:Scenario"] = n.Scenario,
        ["Simulation:Speed"] = (n.Speed * options.Speed / 720).ToString(CultureInfo.InvariantCulture),
        ["Simulation:StartAt"] = n.StartAt.ToString("c", CultureInfo.InvariantCulture),
    };

    // The live view is the demo's output; hosts only report warnings and errors.
    private static void Quiet(HostApplicationBuilder b)
    {
        b.Logging.ClearProviders();
        b.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        b.Logging.SetMinimumLevel(LogLevel.Warning);
    }
}

public sealed record DemoNode(string Id, string Scenario, TimeSpan StartAt, double Speed, double Latitude, double Longitude, double Altitude);
