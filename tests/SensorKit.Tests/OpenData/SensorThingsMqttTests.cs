using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MQTTnet;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using static SensorKit.Tests.History.HistoryData;
using SensorKit.Gateway.Connection;

namespace SensorKit.Tests.OpenData;

/// <summary>
/// SensorThings MQTT (Annex A.8, receiving updates) on the embedded broker, and HistoricalLocations from a node that
/// moves: a node publishes over MQTT with its own account, a subscriber reads the Observations.
/// </summary>
public sealed class SensorThingsMqttTests
{
    private static byte[] Status(string node, DateTimeOffset started, double lat, double lon) => Encoding.UTF8.GetBytes($$"""
        {"schema":"sensorkit.status.v1","site":"test","node":"{{node}}","state":"online","time":"{{started.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}","started":"{{started.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}",
         "location":{"lat":{{lat.ToString(CultureInfo.InvariantCulture)}},"lon":{{lon.ToString(CultureInfo.InvariantCulture)}},"alt":61},
         "sensors":[{"id":"bme280","type":"bme280","bus":1,"address":"0x76","health":"ok","consecutiveFailures":0}]}
        """);

    [Fact]
    public async Task A_subscriber_gets_each_new_observation_and_a_node_cannot_publish_there()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        Dictionary<string, string?> config = Hosts.GatewayConfig(port);
        config["OpenData:NodeLocationRoundingMetres:test.m1"] = "1000";
        using IHost gateway = Hosts.Gateway(config);
        await gateway.StartAsync(ct);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), ct);
        const string Datastream = "test.m1.bme280.temperature";
        string topic = $"v1.1/Datastreams('{Datastream}')/Observations";

        await using MqttProbe subscriber = await MqttProbe.StartAsync(port, filter: topic);
        await using MqttProbe node = await MqttProbe.StartAsync(port, filter: null, account: TestAccounts.Node(port, "test", "m1"));
        DateTimeOffset now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60);

        // Only the gateway writes v1.1/: a node's fake observation is refused and reaches nobody.
        MqttClientPublishResult forged = await node.PublishAsync(topic, Encoding.UTF8.GetBytes("""{"result":1e9}"""));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forged.ReasonCode);

        Assert.True((await node.PublishAsync(Topics.Status("test", "m1"), Status("m1", now.AddMinutes(-30), 50.937512, 6.960349))).IsSuccess);
        using var buffer = new PayloadBuffer();
        Assert.True((await node.PublishAsync(Topics.Telemetry("test", "m1", "bme280", Quantities.Temperature), buffer.Telemetry(Window("m1", now.AddMinutes(-2), 1, mean: 21.5)).ToArray())).IsSuccess);
        MqttProbe.Received first = await subscriber.WaitForAsync(m => m.Topic == topic, TimeSpan.FromSeconds(10), "the first observation");
        JsonNode observation = JsonNode.Parse(first.Text)!;
        long endMs = now.AddMinutes(-2).ToUnixTimeMilliseconds();
        Assert.Equal($"{Datastream}.{endMs}", (string)observation["@iot.id"]!);
        Assert.Equal(21.5, (double)observation["result"]!);
        Assert.Equal(6, (double)observation["parameters"]!["count"]!);
        Assert.EndsWith($"/sta/v1.1/Observations('{Datastream}.{endMs}')", (string)observation["@iot.selfLink"]!, StringComparison.Ordinal);
        Assert.DoesNotContain(subscriber.All, m => m.Text.Contains("1e9", StringComparison.Ordinal));

        // The node moves 3 km: a new HistoricalLocation; the API's Observation is the one that came over MQTT.
        Assert.True((await node.PublishAsync(Topics.Status("test", "m1"), Status("m1", now.AddMinutes(-1), 50.964, 6.96))).IsSuccess);
        Assert.True((await node.PublishAsync(Topics.Telemetry("test", "m1", "bme280", Quantities.Temperature), buffer.Telemetry(Window("m1", now, 2, mean: 22)).ToArray())).IsSuccess);
        await subscriber.WaitForAsync(m => m.Topic == topic && m.Text.Contains($".{now.ToUnixTimeMilliseconds()}\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the second observation");

        using var http = new HttpClient { BaseAddress = gateway.Services.GetRequiredService<CapFeedServer>().BaseAddress };
        JsonNode history = JsonNode.Parse(await http.GetStringAsync("sta/v1.1/Things('test.m1')/HistoricalLocations?$expand=Locations", ct))!;
        JsonArray places = history["value"]!.AsArray();
        Assert.Equal(2, places.Count);
        JsonNode current = JsonNode.Parse(await http.GetStringAsync("sta/v1.1/Things('test.m1')/Locations", ct))!["value"]![0]!;
        Assert.Equal(1000, (double)current["properties"]!["roundedToMetres"]!);
        double lat = (double)current["location"]!["coordinates"]![1]!;
        Assert.True(Math.Abs(lat - 50.964) < 0.005, $"latitude {lat}");
        double cells = lat / (1000 / 111_320.0);
        Assert.True(Math.Abs(cells - Math.Round(cells)) < 0.001, $"latitude {lat} is not on the 1000 m grid");

        await gateway.Services.GetRequiredService<HistoryRecorder>().FlushAsync().WaitAsync(TimeSpan.FromSeconds(10), ct);
        string stored = await http.GetStringAsync($"sta/v1.1/Observations('{Datastream}.{endMs}')", ct);
        Assert.Equal(observation.ToJsonString(), JsonNode.Parse(stored)!.ToJsonString());
        await gateway.StopAsync(CancellationToken.None);
    }
}
