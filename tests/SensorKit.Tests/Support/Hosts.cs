using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway;
using SensorKit.Node;
using SensorKit.Simulation;

namespace SensorKit.Tests.Support;

/// <summary>Builds real gateway and node hosts from in-memory configuration, as the demo does.</summary>
internal static class Hosts
{
    /// <summary>
    /// A token for <c>RunAsync</c> that stops the host once it has started completely (every hosted service's
    /// StartAsync returned), or after <paramref name="cap"/> if it never does.
    /// </summary>
    public static CancellationTokenSource StopOnceStarted(IHost host, TimeSpan cap)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        stop.CancelAfter(cap);
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(stop.Cancel);
        return stop;
    }

    /// <summary>
    /// A gateway host. Unless the configuration says otherwise, it keeps its state in a fresh folder (deleted when the
    /// host stops), serves its CAP feed on a free port, so tests never share alerts or ports, and signs CAP with the
    /// example key.
    /// </summary>
    /// <param name="jsonFile">A configuration file read first, as appsettings.json is; <paramref name="config"/> overrides it.</param>
    public static IHost Gateway(Dictionary<string, string?> config, Action<IServiceCollection>? services = null, string? jsonFile = null)
    {
        string? scratch = null;
        if (!config.ContainsKey("State:Directory"))
        {
            scratch = Directory.CreateDirectory(Path.Combine(ScratchRoot.Value, Guid.NewGuid().ToString("N"))).FullName;
            config = new Dictionary<string, string?>(config) { ["State:Directory"] = scratch };
        }

        if (!config.ContainsKey("CapFeed:Port"))
        {
            config = new Dictionary<string, string?>(config) { ["CapFeed:Port"] = "0" };
        }

        // Most tests were written for one alert per node, raised on one window; they pin that. The product default is
        // one alert per site, raised on two windows (docs/rules.md), and tests of it set Rules:Defaults themselves.
        if (!config.Keys.Any(k => k.StartsWith("Rules:Defaults:", StringComparison.Ordinal)))
        {
            config = new Dictionary<string, string?>(config)
            {
                ["Rules:Defaults:Scope"] = "Node",
                ["Rules:Defaults:MinWindows"] = "1",
            };
        }

        // Generating an RSA key costs a third of a second per gateway; tests that want that pass the keys (null: none).
        if (!config.ContainsKey("Cap:Signing:CertificateFile") && !config.ContainsKey("Cap:Signing:KeyFile"))
        {
            config = new Dictionary<string, string?>(config)
            {
                ["Cap:Signing:CertificateFile"] = ExampleSigningKey.CertificateFile,
                ["Cap:Signing:KeyFile"] = ExampleSigningKey.KeyFile,
            };
        }

        HostApplicationBuilder b = Builder(config, jsonFile);
        b.Services.AddSensorKitGateway();
        services?.Invoke(b.Services);
        IHost host = b.Build();
        if (scratch is not null)
        {
            host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(() => DeleteQuietly(scratch));
        }

        return host;
    }

    /// <summary>
    /// One folder per test process for the state of gateways whose test does not name one; what a host that never
    /// stopped (a configuration test) leaves there goes when the process ends.
    /// </summary>
    private static readonly Lazy<string> ScratchRoot = new(() =>
    {
        string root = Directory.CreateTempSubdirectory("sensorkit-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteQuietly(root);
        return root;
    });

    /// <summary>Removes a scratch folder; one still held open elsewhere is left to the system's temp cleanup.</summary>
    public static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Still in use by a host that has not been disposed yet.
        }
    }

    /// <param name="jsonFile">A configuration file read first, as appsettings.json is; <paramref name="config"/> overrides it.</param>
    public static IHost Node(Dictionary<string, string?> config, Action<IServiceCollection>? services = null, string? jsonFile = null)
    {
        HostApplicationBuilder b = Builder(config, jsonFile);
        b.Services.AddSensorKitNode();
        b.Services.AddSensorKitSimulation();
        services?.Invoke(b.Services);
        return b.Build();
    }

    private static HostApplicationBuilder Builder(Dictionary<string, string?> config, string? jsonFile)
    {
        HostApplicationBuilder b = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        if (jsonFile is not null)
        {
            b.Configuration.AddJsonFile(jsonFile, optional: false, reloadOnChange: false);
        }

        b.Configuration.AddInMemoryCollection(config);
        b.Logging.ClearProviders();
        return b;
    }

    /// <summary>An embedded-broker gateway on loopback with its own accounts file (<see cref="TestAccounts"/>).</summary>
    public static Dictionary<string, string?> GatewayConfig(int port) => new()
    {
        ["Broker:Mode"] = "Embedded",
        ["Broker:Address"] = "127.0.0.1",
        ["Broker:Port"] = port.ToString(CultureInfo.InvariantCulture),
        ["Broker:AccountsFile"] = TestAccounts.FileFor(port),
    };

    /// <summary>
    /// A simulated node of site "test". When a test gateway owns <paramref name="port"/>, the node gets its account
    /// there (Mqtt:Username and Mqtt:PasswordFile), as a provisioned node in the field does.
    /// </summary>
    public static Dictionary<string, string?> SimulatedNodeConfig(string id, int port, string? scenario = null, string window = "00:00:01", string interval = "00:00:00.100")
    {
        Dictionary<string, string?> config = SimulatedNode(id, port, scenario, window, interval);
        if (TestAccounts.HasFile(port))
        {
            TestAccount account = TestAccounts.Node(port, "test", id);
            config["Mqtt:Username"] = account.Name;
            config["Mqtt:PasswordFile"] = account.PasswordFile;
        }

        return config;
    }

    private static Dictionary<string, string?> SimulatedNode(string id, int port, string? scenario, string window, string interval) => new()
    {
        ["Node:Id"] = id,
        ["Node:Site"] = "test",
        ["Node:Location:Latitude"] = "50.94",
        ["Node:Location:Longitude"] = "6.96",
        ["Node:Location:Altitude"] = "53",
        ["Node:Window"] = window,
        ["Node:StatusInterval"] = "00:00:05",
        ["Node:Sensors:0:Type"] = "bme280",
        ["Node:Sensors:0:Address"] = "0x76",
        ["Node:Sensors:0:Interval"] = interval,
        ["Mqtt:Broker"] = $"mqtt://127.0.0.1:{port}",
        ["Mqtt:ReconnectMin"] = "00:00:00.100",
        ["Mqtt:ReconnectMax"] = "00:00:01",
        ["Outbox:Directory"] = TestDirectories.Create($"outbox-{id}"),
        ["Simulation:Enabled"] = "true",
        ["Simulation:Scenario"] = scenario,
        ["Simulation:Speed"] = "1",
    };
}
