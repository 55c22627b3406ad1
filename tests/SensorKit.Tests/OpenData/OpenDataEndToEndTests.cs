using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Tests.Support;
using SensorKit.Gateway.Connection;

namespace SensorKit.Tests.OpenData;

/// <summary>A gateway with simulated nodes over MQTT; the API walked from its root through every link.</summary>
public sealed class OpenDataEndToEndTests
{
    [Fact]
    public async Task Every_link_from_the_service_root_leads_to_a_valid_response()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(ct);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), ct);
        using IHost node = Hosts.Node(Hosts.SimulatedNodeConfig("walk-1", port));
        await node.StartAsync(ct);
        ITelemetryHistory history = gateway.Services.GetRequiredService<ITelemetryHistory>();
        HistoryRecorder recorder = gateway.Services.GetRequiredService<HistoryRecorder>();
        await Wait.UntilAsync(() => history.Channels(node: "walk-1").Count >= 3, TimeSpan.FromSeconds(20), "the node's channels in the history");
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10), ct);

        Uri root = new(gateway.Services.GetRequiredService<CapFeedServer>().BaseAddress!, "sta/v1.1");
        using var http = new HttpClient();
        StaWalker.Walk walk = await StaWalker.WalkAsync(http, root, 400, ct);
        Assert.Equal(0, walk.Unvisited);
        HashSet<string> kinds = [.. walk.Kinds];
        foreach (string set in new[] { "Things", "Locations", "HistoricalLocations", "Sensors", "ObservedProperties", "Datastreams", "Observations", "FeaturesOfInterest", "Thing", "Sensor", "ObservedProperty", "Datastream", "FeatureOfInterest" })
        {
            Assert.Contains(set, kinds);
        }

        await node.StopAsync(CancellationToken.None);
        await gateway.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("OpenData:MaxTop", "0", "OpenData:MaxTop: 0 must be between 1 and 10000")]
    [InlineData("OpenData:License", "WTFPL", "OpenData:License: 'WTFPL' is not one of CC-BY-4.0, DL-DE-BY-2.0, ODbL-1.0")]
    [InlineData("OpenData:LocationRoundingMetres", "0", "OpenData:LocationRoundingMetres: 0 must be between 1 and 100000")]
    [InlineData("OpenData:NodeLocationRoundingMetres:test", "500", "OpenData:NodeLocationRoundingMetres:test: name a node as site.node")]
    [InlineData("OpenData:MaxTopp", "10", "OpenData:MaxTopp: unknown key")]
    public async Task A_bad_open_data_setting_stops_the_gateway_with_exit_code_2_naming_the_key(string key, string value, string message)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config[key] = value;

        ConfigurationRun.AssertOutcome(await ConfigurationRun.GatewayAsync(config), $"invalid configuration: {message}");
    }
}
