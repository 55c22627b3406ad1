using SensorKit.Demo;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.OpenData;

/// <summary>
/// The quick-start demo (gateway/SensorKit.Demo) run in-process: it prints the SensorThings API's address next to
/// the CAP feed's and the MQTT topic of its observations, and the API is walked from that root through every link.
/// </summary>
public sealed class DemoOpenDataTests
{
    [Fact]
    public async Task The_demo_prints_the_api_and_every_link_from_its_root_answers()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        var options = new DemoOptions { Port = port, FeedPort = 0, Speed = 3600, Window = TimeSpan.FromSeconds(1), SampleInterval = TimeSpan.FromSeconds(0.2) };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(TimeSpan.FromMinutes(2));
        var root = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var console = new DemoConsole(line =>
        {
            const string Api = "Open data (OGC SensorThings API 1.1, read only): ";
            if (line.StartsWith(Api, StringComparison.Ordinal))
            {
                root.TrySetResult(new Uri(line[Api.Length..]));
            }

            return Task.CompletedTask;
        });
        using var error = new StringWriter();
        Task<int> demo = DemoRunner.RunAsync(options, console, error, stop.Token);

        Uri sta = await root.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        Assert.Equal("/sta/v1.1/", sta.AbsolutePath);

        // An Observation comes over SensorThings MQTT as the window arrives; the history stores it a moment later
        // (in batches), and from then on every entity type has members.
        string observation;
        await using (MqttProbe observations = await MqttProbe.StartAsync(port, "v1.1/#"))
        {
            MqttProbe.Received first = await observations.WaitForAsync(m => m.Topic.EndsWith("/Observations", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "an observation over SensorThings MQTT");
            observation = (string)System.Text.Json.Nodes.JsonNode.Parse(first.Text)!["@iot.selfLink"]!;
        }

        using var http = new HttpClient();
        await Wait.UntilAsync(async () => (await http.GetAsync(observation, ct)).IsSuccessStatusCode, TimeSpan.FromSeconds(30), $"{observation} in the API");
        // The demo keeps measuring while it is walked, so new observations keep adding links: the walk is bounded.
        StaWalker.Walk walk = await StaWalker.WalkAsync(http, new Uri(sta.ToString().TrimEnd('/')), 600, ct);
        foreach (string kind in new[] { "Things", "Locations", "HistoricalLocations", "Sensors", "ObservedProperties", "Datastreams", "Observations", "FeaturesOfInterest", "Thing", "Sensor", "ObservedProperty", "Datastream", "FeatureOfInterest", "Locations" })
        {
            Assert.Contains(kind, walk.Kinds);
        }

        // The API's address comes right after the CAP feed's, then the MQTT topic of its observations.
        string[] lines = [.. console.Lines];
        int cap = Array.FindIndex(lines, l => l.StartsWith("CAP feed", StringComparison.Ordinal));
        Assert.True(cap >= 0 && lines[cap + 1].EndsWith(sta.ToString(), StringComparison.Ordinal) && lines[cap + 2].Contains("-t 'v1.1/#'", StringComparison.Ordinal), string.Join("\n", lines));
        await stop.CancelAsync();
        Assert.Equal(0, await demo);
    }
}
