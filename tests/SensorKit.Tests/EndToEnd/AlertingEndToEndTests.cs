using System.Net;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Simulation;
using SensorKit.Simulation.Scenarios;
using SensorKit.Tests.Alerts.Cap;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.EndToEnd;

/// <summary>
/// The alerting through a real gateway: telemetry over MQTT into the embedded broker, alerts out as JSON, retained
/// state and CAP on MQTT and in the HTTP feed; a gateway restart in the middle of an alert; a cancel over HTTP.
/// The storm scenario's 12 hours are published as fast as the broker takes them: rules run on telemetry time.
/// </summary>
public sealed class AlertingEndToEndTests
{
    private static readonly string[] Nodes = ["n1", "n2", "n3"];
    private static readonly XNamespace Atom = CapAtomFeed.Namespace;
    private static readonly XNamespace Cap = CapWriter.Namespace;

    private sealed class StormSite : IAsyncDisposable
    {
        private readonly Scenario _storm = Scenario.Load(SimulationSetup.ResolveScenario("storm.json"));
        private readonly PayloadBuffer _buffer = new();
        private readonly Dictionary<string, MqttProbe> _nodes = new(StringComparer.Ordinal);
        private long _seq;

        /// <summary>Connects each node through its own account, as the broker requires; again after a broker restart.</summary>
        public async Task ConnectAsync(int port)
        {
            await DisposeNodesAsync();
            foreach (string node in Nodes)
            {
                _nodes[node] = await MqttProbe.StartAsync(port, filter: null, account: TestAccounts.Node(port, "cologne", node));
            }
        }

        public async Task DisposeNodesAsync()
        {
            foreach (MqttProbe node in _nodes.Values)
            {
                await node.DisposeAsync();
            }

            _nodes.Clear();
        }

        public ValueTask DisposeAsync() => new(DisposeNodesAsync());

        /// <summary>Scenario start: 13 hours ago, on the minute, so every window lies in the past.</summary>
        public DateTimeOffset Start { get; } = new(DateTimeOffset.UtcNow.AddHours(-13).Ticks / TimeSpan.TicksPerMinute * TimeSpan.TicksPerMinute, TimeSpan.Zero);

        public async Task StatusAsync()
        {
            for (int i = 0; i < Nodes.Length; i++)
            {
                var status = new NodeStatusMessage
                {
                    Site = "cologne",
                    Node = Nodes[i],
                    State = NodeState.Online,
                    Time = DateTimeOffset.UtcNow,
                    Location = new GeoLocation(50.93 + (0.01 * i), 6.95 + (0.01 * i), 50),
                    Sensors = [new SensorStatus { Id = "bme280", Type = "bme280", Bus = 1, Address = 0x76, Health = SensorHealth.Ok }],
                };
                await _nodes[Nodes[i]].PublishAsync(Topics.Status("cologne", Nodes[i]), _buffer.Status(status).ToArray());
            }
        }

        public async Task TelemetryAsync(int fromMinute, int toMinute)
        {
            Signal pressure = _storm.Signals.Last(s => s.Quantity == Quantities.Pressure);
            for (int m = fromMinute; m <= toMinute; m++)
            {
                TimeSpan end = TimeSpan.FromMinutes(m);
                double mean = Enumerable.Range(0, 6).Average(k => pressure.At(end - TimeSpan.FromSeconds(50 - (10 * k))));
                foreach (string node in Nodes)
                {
                    var t = new TelemetryMessage
                    {
                        Site = "cologne",
                        Node = node,
                        Sensor = "bme280",
                        Quantity = Quantities.Pressure,
                        Unit = Units.Pascal,
                        Sequence = ++_seq,
                        WindowStart = Start + end - TimeSpan.FromMinutes(1),
                        WindowEnd = Start + end,
                        Count = 6,
                        Expected = 6,
                        Min = mean,
                        Max = mean,
                        Mean = mean,
                        First = mean,
                        Last = mean,
                    };
                    await _nodes[node].PublishAsync(Topics.Telemetry("cologne", node, "bme280", Quantities.Pressure), _buffer.Telemetry(t).ToArray());
                }
            }
        }
    }

    private static Dictionary<string, string?> Config(int port, string state) => new(Hosts.GatewayConfig(port))
    {
        ["State:Directory"] = state,
        ["Rules:Packs:0"] = "storm",
        ["Cap:Sender"] = "gateway.sensorkit.test",
    };

    private static bool IsEvent(MqttProbe.Received m, string state) =>
        m.Topic == Topics.AlertEvent("cologne", "storm-pressure-fall", "cologne") && m.Text.Contains($"\"state\":\"{state}\"", StringComparison.Ordinal);

    [Fact]
    public async Task A_storm_over_mqtt_gives_json_retained_state_and_cap_and_the_http_feed_serves_each_cap_message()
    {
        int port = FreePort.Get();
        string state = Directory.CreateTempSubdirectory("sensorkit-e2e-state-").FullName;
        try
        {
            using IHost gateway = Hosts.Gateway(Config(port, state));
            await gateway.StartAsync(TestContext.Current.CancellationToken);
            await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            await using MqttProbe probe = await MqttProbe.StartAsync(port);
            await using var site = new StormSite();
            await site.ConnectAsync(port);
            await site.StatusAsync();
            await site.TelemetryAsync(1, 12 * 60);

            TimeSpan timeout = TimeSpan.FromSeconds(30);
            MqttProbe.Received raised = await probe.WaitForAsync(m => IsEvent(m, "raised"), timeout, "storm raised");
            MqttProbe.Received cleared = await probe.WaitForAsync(m => IsEvent(m, "cleared"), timeout, "storm cleared");
            string capTopic = Topics.AlertCap("cologne", "storm-pressure-fall", "cologne");
            await probe.WaitForAsync(m => m.Topic == capTopic && m.Text.Contains("AllClear", StringComparison.Ordinal), timeout, "CAP all-clear");

            Assert.True(ProtocolJson.TryReadAlert(raised.Payload, out AlertMessage? raise, out string error), error);
            Assert.True(ProtocolJson.TryReadAlert(cleared.Payload, out AlertMessage? clear, out error), error);
            Assert.Equal((raise.AlertId, "Moderate", "Likely", "Exercise"), (clear.AlertId, raise.Severity, raise.Certainty, raise.Status));
            Assert.Equal(Nodes, raise.Nodes);
            // 02:48 plus 10 minutes of hold, and 05:19 plus 10, in the storm's own time.
            Assert.InRange(raise.RaisedAt - site.Start, TimeSpan.FromMinutes(176), TimeSpan.FromMinutes(180));

            string activeTopic = Topics.AlertActive("cologne", "storm-pressure-fall", "cologne");
            MqttProbe.Received[] active = [.. probe.All.Where(m => m.Topic == activeTopic)];
            Assert.Equal(2, active.Length);
            Assert.True(ProtocolJson.TryReadAlert(active[0].Payload, out AlertMessage? current, out _));
            Assert.Equal(raise.AlertId, current.AlertId);
            Assert.Empty(active[1].Payload);

            MqttProbe.Received[] caps = [.. probe.All.Where(m => m.Topic == capTopic)];
            Assert.Equal(2, caps.Length);
            Assert.All(caps, c => Assert.Empty(CapSchema.Validate(c.Text)));
            var profile = new CapProfile.Stream();
            Assert.All(caps, c => Assert.Empty(profile.Add(c.Text)));

            // The HTTP feed lists both messages, newest first, each linking to the very document sent over MQTT.
            CapFeedServer feed = gateway.Services.GetRequiredService<CapFeedServer>();
            using var http = new HttpClient { BaseAddress = feed.BaseAddress };
            using HttpResponseMessage index = await http.GetAsync(new Uri("cap/feed.atom", UriKind.Relative), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, index.StatusCode);
            Assert.Equal(CapAtomFeed.MediaType, index.Content.Headers.ContentType?.MediaType);
            XElement[] entries = [.. XDocument.Parse(await index.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Root!.Elements(Atom + "entry")];
            Assert.Equal([clear.CapIdentifier, raise.CapIdentifier], entries.Select(e => e.Element(Atom + "link")!.Attribute("href")!.Value.Split('/')[^1].Replace(".xml", string.Empty, StringComparison.Ordinal)));
            foreach (XElement entry in entries)
            {
                var link = new Uri(entry.Element(Atom + "link")!.Attribute("href")!.Value);
                using HttpResponseMessage document = await http.GetAsync(link, TestContext.Current.CancellationToken);
                Assert.Equal(HttpStatusCode.OK, document.StatusCode);
                Assert.Equal(CapWriter.MediaType, document.Content.Headers.ContentType?.MediaType);
                byte[] body = await document.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
                XElement root = XDocument.Parse(Encoding.UTF8.GetString(body)).Root!;
                string id = root.Element(Cap + "identifier")!.Value;
                Assert.Equal(caps.Single(c => c.Text.Contains($"<identifier>{id}</identifier>", StringComparison.Ordinal)).Payload, body);

                // Each message's web link is its own document in the feed, on the port the feed picked.
                Assert.All(root.Elements(Cap + "info"), info => Assert.Equal(link, new Uri(info.Element(Cap + "web")!.Value)));
            }

            using HttpResponseMessage missing = await http.GetAsync(new Uri("cap/SK-nothing-1.xml", UriKind.Relative), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            using HttpResponseMessage sneaky = await http.GetAsync(new Uri("cap/..%2F..%2Fgateway-state.db.xml", UriKind.Relative), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.NotFound, sneaky.StatusCode);
            using HttpResponseMessage unauthorised = await http.PostAsync(new Uri($"alerts/{raise.AlertId}/cancel", UriKind.Relative), null, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Forbidden, unauthorised.StatusCode);

            Assert.Equal(0, gateway.Services.GetRequiredService<TelemetryIngest>().Rejected);
            await gateway.StopAsync(CancellationToken.None);
        }
        finally
        {
            Hosts.DeleteQuietly(state);
        }
    }

    [Fact]
    public async Task A_gateway_restarted_during_a_storm_continues_the_alert_and_an_operator_can_cancel_it_over_http()
    {
        int port = FreePort.Get();
        string state = Directory.CreateTempSubdirectory("sensorkit-e2e-state-").FullName;
        var site = new StormSite();
        TimeSpan timeout = TimeSpan.FromSeconds(30);
        string alertId;
        try
        {
            using (IHost gateway = Hosts.Gateway(Config(port, state)))
            {
                await gateway.StartAsync(TestContext.Current.CancellationToken);
                await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(timeout, TestContext.Current.CancellationToken);
                await using MqttProbe probe = await MqttProbe.StartAsync(port);
                await site.ConnectAsync(port);
                await site.StatusAsync();
                await site.TelemetryAsync(1, 4 * 60);
                MqttProbe.Received raised = await probe.WaitForAsync(m => IsEvent(m, "raised"), timeout, "storm raised");
                Assert.True(ProtocolJson.TryReadAlert(raised.Payload, out AlertMessage? raise, out _));
                alertId = raise.AlertId;
                await probe.WaitForAsync(m => m.Topic.Contains("/alerts/cap/", StringComparison.Ordinal), timeout, "CAP raise");
                await gateway.StopAsync(CancellationToken.None);
            }

            // Same state folder and port; the embedded broker starts empty.
            using IHost again = Hosts.Gateway(Config(port, state));
            await again.StartAsync(TestContext.Current.CancellationToken);
            await again.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(timeout, TestContext.Current.CancellationToken);
            await using MqttProbe watcher = await MqttProbe.StartAsync(port);

            // The active state is there again for anyone who subscribes, with the same alert.
            MqttProbe.Received retained = await watcher.WaitForAsync(m => m.Topic.Contains("/alerts/active/", StringComparison.Ordinal) && m.Payload.Length > 0, timeout, "retained active state");
            Assert.True(ProtocolJson.TryReadAlert(retained.Payload, out AlertMessage? active, out _));
            Assert.Equal((alertId, 1), (active.AlertId, active.Revision));

            // Nodes keep sending (the gateway remembers them without a new status). Cancel it from the gateway machine.
            await site.ConnectAsync(port);
            await site.TelemetryAsync((4 * 60) + 1, 5 * 60);
            CapFeedServer feed = again.Services.GetRequiredService<CapFeedServer>();
            using var http = new HttpClient { BaseAddress = feed.BaseAddress };
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"alerts/{alertId}/cancel?note=Drift%20check", UriKind.Relative));
            request.Headers.Add(CapFeedServer.OperatorHeader, "cancel");
            using HttpResponseMessage response = await http.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

            MqttProbe.Received cancelled = await watcher.WaitForAsync(m => IsEvent(m, "cancelled"), timeout, "cancelled event");
            Assert.True(ProtocolJson.TryReadAlert(cancelled.Payload, out AlertMessage? cancel, out _));
            Assert.Equal((alertId, 2), (cancel.AlertId, cancel.Revision));
            MqttProbe.Received capCancel = await watcher.WaitForAsync(m => m.Topic.Contains("/alerts/cap/", StringComparison.Ordinal), timeout, "CAP cancel");
            XElement root = XDocument.Parse(capCancel.Text).Root!;
            Assert.Equal("Cancel", root.Element(Cap + "msgType")!.Value);
            Assert.Empty(CapProfile.Check(capCancel.Text));
            Assert.Contains("Drift check", root.Element(Cap + "note")!.Value, StringComparison.Ordinal);

            // The storm goes on and ends: the withdrawn alert stays quiet; the second half of the day raises nothing.
            await site.TelemetryAsync((5 * 60) + 1, 12 * 60);
            await watcher.WaitForAsync(m => m.Topic == Topics.Telemetry("cologne", "n3", "bme280", Quantities.Pressure) && m.Text.Contains($"\"seq\":{3 * 12 * 60}", StringComparison.Ordinal), timeout, "last window");
            TelemetryIngest ingest = again.Services.GetRequiredService<TelemetryIngest>();
            await WaitUntilAsync(() => ingest.Accepted >= 3 * ((12 * 60) - (4 * 60)), timeout);
            Assert.DoesNotContain(watcher.All, m => IsEvent(m, "raised") || IsEvent(m, "updated") || IsEvent(m, "cleared"));
            Assert.Equal(0, ingest.Rejected);
            await again.StopAsync(CancellationToken.None);
        }
        finally
        {
            await site.DisposeNodesAsync();
            Hosts.DeleteQuietly(state);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        DateTime deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await timer.WaitForNextTickAsync(TestContext.Current.CancellationToken);
        }
    }
}
