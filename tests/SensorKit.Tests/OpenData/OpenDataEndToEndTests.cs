using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Tests.Support;

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
        var queue = new Queue<string>([root.ToString()]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kinds = new HashSet<string>(StringComparer.Ordinal);
        while (queue.TryDequeue(out string? url) && seen.Count < 400)
        {
            if (!seen.Add(url))
            {
                continue;
            }

            using HttpResponseMessage r = await http.GetAsync(url, ct);
            string body = await r.Content.ReadAsStringAsync(ct);
            Assert.True(r.IsSuccessStatusCode, $"{url}: {(int)r.StatusCode} {body}");
            JsonNode doc = JsonNode.Parse(body)!;
            foreach (string link in Links(doc).Where(l => l.StartsWith(root.ToString(), StringComparison.Ordinal) || !url.Equals(root.ToString(), StringComparison.Ordinal)))
            {
                Assert.StartsWith(root.ToString(), link, StringComparison.Ordinal);
                kinds.Add(new Uri(link).Segments.Last().Split('(')[0]);
                queue.Enqueue(link);
            }
        }

        Assert.DoesNotContain(queue, u => !seen.Contains(u));
        foreach (string set in new[] { "Things", "Locations", "HistoricalLocations", "Sensors", "ObservedProperties", "Datastreams", "Observations", "FeaturesOfInterest", "Thing", "Sensor", "ObservedProperty", "Datastream", "FeatureOfInterest" })
        {
            Assert.Contains(set, kinds);
        }

        await node.StopAsync(CancellationToken.None);
        await gateway.StopAsync(CancellationToken.None);
    }

    private static IEnumerable<string> Links(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach ((string key, JsonNode? value) in o)
                {
                    if ((key.EndsWith("@iot.navigationLink", StringComparison.Ordinal) || key is "@iot.selfLink" or "url") && value is JsonValue v)
                    {
                        yield return (string)v!;
                    }
                    else
                    {
                        foreach (string l in Links(value))
                        {
                            yield return l;
                        }
                    }
                }

                break;
            case JsonArray a:
                foreach (string l in a.SelectMany(Links))
                {
                    yield return l;
                }

                break;
        }
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
        using IHost host = Hosts.Gateway(config);
        var error = new StringWriter();

        int code = await GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.Equal($"invalid configuration: {message}", error.ToString().TrimEnd());
    }
}
