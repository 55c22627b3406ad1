using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Gateway;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Hosting;
using SensorKit.Node;
using SensorKit.Simulation;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>
/// A key that binds to nothing (a typo, or a setting this build does not have yet) stops the host at start with
/// exit code 2 and one line naming the full key, in every options section of the gateway and the node.
/// </summary>
public sealed partial class UnknownKeyTests
{
    [Theory]
    [InlineData("Broker:Tlss", "true")]
    [InlineData("Broker:Tls:CertifcateFile", "broker.pem")]
    [InlineData("Broker:Limits:MaxConections", "10")]
    [InlineData("Rules:Settel", "00:00:05")]
    [InlineData("Rules:Operator:NodeOffline:Heartbeet", "00:01:00")]
    [InlineData("Rules:Sites:cologne:storm-pressure-fall:Hould", "00:01:00")]
    [InlineData("Cap:Sendr", "gateway.example")]
    [InlineData("CapFeed:Adress", "127.0.0.1")]
    [InlineData("State:Directroy", "state")]
    [InlineData("Cap:Sender:Name", "gateway.example")]
    public async Task An_unknown_gateway_key_exits_two_naming_it(string key, string value)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config[key] = value;

        (int code, string error) = await RunGatewayAsync(config);

        Assert.Equal(2, code);
        Assert.Equal($"invalid configuration: {key}: unknown key", error.TrimEnd());
    }

    [Fact]
    public async Task A_rule_is_named_by_its_id_too()
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["Rules:Threshold:0:Id"] = "heat";
        config["Rules:Threshold:0:Quantity"] = "temperature";
        config["Rules:Threshold:0:Abvoe"] = "35";

        (int code, string error) = await RunGatewayAsync(config);

        Assert.Equal(2, code);
        Assert.Equal("invalid configuration: Rules:Threshold:0 (rule 'heat'):Abvoe: unknown key", error.TrimEnd());
    }

    [Fact]
    public async Task Unknown_keys_in_several_sections_are_named_on_one_line()
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["Broker:Limits:MaxConections"] = "10";
        config["State:Kept"] = "30.00:00:00";

        (int code, string error) = await RunGatewayAsync(config);

        Assert.Equal(2, code);
        Assert.Equal("invalid configuration: Broker:Limits:MaxConections: unknown key; State:Kept: unknown key", error.TrimEnd());
    }

    [Theory]
    [InlineData("Node:Sensors:0:Adress", "0x77")]
    [InlineData("Node:Location:Lat", "50.9")]
    [InlineData("Node:Sensors:0:Channels:temperature:Filters:0:Sise", "5")]
    [InlineData("Node:Sensors:0:Channels:temperature:Windw", "00:10:00")]
    [InlineData("Mqtt:Tls", "true")]
    [InlineData("Mqtt:ClientId:Prefix", "sensorkit")]
    [InlineData("Outbox:Directroy", "outbox")]
    [InlineData("Simulation:Sped", "60")]
    [InlineData("HomeAssistant:Prefix", "ha")]
    public async Task An_unknown_node_key_exits_two_naming_it(string key, string value)
    {
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("node-1", FreePort.Get());
        config["Node:Sensors:0:Channels:temperature:Filters:0:Kind"] = "median";
        config["Node:Sensors:0:Channels:temperature:Filters:0:Size"] = "3";
        config[key] = value;
        using IHost host = Hosts.Node(config);
        var error = new StringWriter();

        int code = await NodeHost.RunAsync(host, error, StartTimeout());

        Assert.Equal(2, code);
        Assert.Equal($"invalid configuration: {key}: unknown key", error.ToString().TrimEnd());
    }

    /// <summary>Someone adding a section (Metrics, …) with plain BindConfiguration would let its typos through.</summary>
    [Fact]
    public void Every_options_type_bound_from_configuration_refuses_unknown_keys()
    {
        var gateway = new ServiceCollection();
        gateway.AddSensorKitGateway();
        var node = new ServiceCollection();
        node.AddSensorKitNode();
        node.AddSensorKitSimulation();

        foreach (ServiceCollection services in new[] { gateway, node })
        {
            Type[] bound = [.. services
                .Where(d => d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() == typeof(IOptionsChangeTokenSource<>))
                .Select(d => d.ServiceType.GetGenericArguments()[0])
                .Distinct()
                .OrderBy(t => t.Name, StringComparer.Ordinal)];
            Type[] strict = [.. services
                .Where(d => d.ServiceType == typeof(StrictSection))
                .Select(d => ((StrictSection)d.ImplementationInstance!).OptionsType)
                .OrderBy(t => t.Name, StringComparer.Ordinal)];
            Assert.NotEmpty(bound);
            Assert.Equal(bound, strict);
        }
    }

    public static TheoryData<string> ShippedConfigurations() =>
    [
        "gateway/SensorKit.Gateway.Worker/appsettings.json",
        "firmware/SensorKit.Firmware/appsettings.json",
        .. Directory.GetFiles(Path.Combine(RepoPaths.Root, "hardware", "examples"), "*.json")
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal),
        "docs/pipeline.md",
    ];

    [Theory]
    [MemberData(nameof(ShippedConfigurations))]
    public void Shipped_and_documented_configurations_have_no_unknown_keys(string file)
    {
        string path = Path.Combine(RepoPaths.Root, file);
        if (file.EndsWith(".md", StringComparison.Ordinal))
        {
            // The documented "Node" section, as a file of its own.
            Match snippet = NodeSnippet().Match(File.ReadAllText(path));
            Assert.True(snippet.Success, $"{file} shows a \"Node\" section");
            path = Path.Combine(TestDirectories.Create("snippet"), "pipeline.json");
            File.WriteAllText(path, "{" + snippet.Groups["json"].Value + "}");
        }

        using IHost host = file.StartsWith("gateway/", StringComparison.Ordinal) ? Hosts.Gateway([], jsonFile: path) : Hosts.Node([], jsonFile: path);
        IConfiguration configuration = host.Services.GetRequiredService<IConfiguration>();
        StrictSection[] sections = [.. host.Services.GetServices<StrictSection>()];

        Assert.NotEmpty(sections);
        Assert.Empty(StrictConfiguration.FindAll(host.Services));
        foreach (StrictSection section in sections)
        {
            // What the host does at start: the binder with unknown keys refused.
            configuration.GetSection(section.Path).Get(section.OptionsType, o => o.ErrorOnUnknownConfiguration = true);
        }
    }

    [Fact]
    public async Task The_shipped_gateway_configuration_starts()
    {
        int port = FreePort.Get();
        using IHost host = Hosts.Gateway(
            new() { ["Broker:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            jsonFile: Path.Combine(RepoPaths.Root, "gateway", "SensorKit.Gateway.Worker", "appsettings.json"));

        await host.StartAsync(TestContext.Current.CancellationToken);
        await host.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await host.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void The_shipped_node_configuration_passes_every_start_check()
    {
        using IHost host = Hosts.Node(
            new() { ["Outbox:Directory"] = TestDirectories.Create("outbox") },
            jsonFile: Path.Combine(RepoPaths.Root, "firmware", "SensorKit.Firmware", "appsettings.json"));

        // Binding and validation of every section, as at start; sampling would need a real I2C bus.
        host.Services.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void Lists_dictionaries_and_nested_objects_are_walked_by_their_entries()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["S:Items:0:Value"] = "1",
            ["S:Items:1:Valeu"] = "2",
            ["S:Array:0:Value"] = "3",
            ["S:Map:a:Value"] = "4",
            ["S:Map:b:Vale"] = "5",
            ["S:Words:0"] = "x",
            ["S:Words:1:Deeper"] = "y",
            ["S:Nested:Value"] = "6",
            ["S:Nested:Extra"] = "7",
            ["S:Renamed"] = "8",
            ["S:Computed"] = "9",
            ["S:Anything:goes:here"] = "10",
        }).Build();

        string[] unknown = [.. StrictConfiguration.Find(config.GetSection("S"), typeof(Sample), "S:").Select(u => u.Path).Order(StringComparer.Ordinal)];

        Assert.Equal(["S:Computed", "S:Items:1:Valeu", "S:Map:b:Vale", "S:Nested:Extra", "S:Words:1:Deeper"], unknown);
    }

    private static async Task<(int Code, string Error)> RunGatewayAsync(Dictionary<string, string?> config)
    {
        using IHost host = Hosts.Gateway(config);
        var error = new StringWriter();
        int code = await GatewayHost.RunAsync(host, error, StartTimeout());
        return (code, error.ToString());
    }

    /// <summary>A host that starts runs until stopped: this stops it, failing the test, when the key went through.</summary>
    private static CancellationToken StartTimeout()
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        return cts.Token;
    }

    [GeneratedRegex("```json\\s*(?<json>\"Node\": \\{.*?\\n\\})\\s*```", RegexOptions.Singleline)]
    private static partial Regex NodeSnippet();

    private sealed class Sample
    {
        public List<Item> Items { get; set; } = [];
        public Item[] Array { get; set; } = [];
        public Dictionary<string, Item> Map { get; set; } = [];
        public string[] Words { get; set; } = [];
        public Item Nested { get; } = new();
        [ConfigurationKeyName("Renamed")]
        public string? Original { get; set; }
        public int Computed => 0;
        public IConfigurationSection? Anything { get; set; }
    }

    private sealed class Item
    {
        public int Value { get; set; }
    }
}
