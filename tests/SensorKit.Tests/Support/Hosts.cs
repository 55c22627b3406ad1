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
    public static IHost Gateway(Dictionary<string, string?> config, Action<IServiceCollection>? services = null)
    {
        HostApplicationBuilder b = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        b.Configuration.AddInMemoryCollection(config);
        b.Logging.ClearProviders();
        b.Services.AddSensorKitGateway();
        services?.Invoke(b.Services);
        return b.Build();
    }

    public static IHost Node(Dictionary<string, string?> config, Action<IServiceCollection>? services = null)
    {
        HostApplicationBuilder b = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        b.Configuration.AddInMemoryCollection(config);
        b.Logging.ClearProviders();
        b.Services.AddSensorKitNode();
        b.Services.AddSensorKitSimulation();
        services?.Invoke(b.Services);
        return b.Build();
    }

    public static Dictionary<string, string?> GatewayConfig(int port) => new()
    {
        ["Broker:Mode"] = "Embedded",
        ["Broker:Address"] = "127.0.0.1",
        ["Broker:Port"] = port.ToString(CultureInfo.InvariantCulture),
    };

    public static Dictionary<string, string?> SimulatedNodeConfig(string id, int port, string? scenario = null, string window = "00:00:01", string interval = "00:00:00.100") => new()
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
