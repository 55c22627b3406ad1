using System.Globalization;
using System.Net;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Http;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Alerts.Feed;

/// <summary>
/// Who may read the CAP feed and cancel alerts, over real HTTP against a running gateway with a real alert: a page
/// that rebinds its DNS name to 127.0.0.1 gets nothing (wrong Host), nor does anything a browser sends (Origin);
/// a cancel names its operator and reason, both logged, and needs the operator token when one is configured.
/// </summary>
public sealed class CapFeedOperatorTests
{
    private const string Token = "0123456789abcdef0123456789abcdef-operator";

    [Fact]
    public async Task On_loopback_every_endpoint_refuses_a_host_other_than_its_own()
    {
        await using Gateway g = await Gateway.StartAsync();
        string port = g.Feed.Port.ToString(CultureInfo.InvariantCulture);

        foreach (string path in (string[])["cap/feed.atom", "cap/SK-nothing-1.xml"])
        {
            using HttpResponseMessage forged = await g.SendAsync(HttpMethod.Get, path, r => r.Headers.Host = $"rebound.example:{port}");
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }

        using HttpResponseMessage cancel = await g.CancelAsync(r => r.Headers.Host = $"rebound.example:{port}");
        Assert.Equal(HttpStatusCode.BadRequest, cancel.StatusCode);
        using HttpResponseMessage otherPort = await g.SendAsync(HttpMethod.Get, "cap/feed.atom", r => r.Headers.Host = "127.0.0.1:1");
        Assert.Equal(HttpStatusCode.BadRequest, otherPort.StatusCode);
        Assert.Contains(g.Logs.Lines, l => l.Message.Contains($"Refused a request for Host 'rebound.example:{port}'", StringComparison.Ordinal));

        foreach (string host in (string[])[$"127.0.0.1:{port}", $"localhost:{port}", $"LOCALHOST:{port}"])
        {
            using HttpResponseMessage own = await g.SendAsync(HttpMethod.Get, "cap/feed.atom", r => r.Headers.Host = host);
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        }

        // The forged cancel changed nothing: the alert is still there to cancel.
        using HttpResponseMessage real = await g.CancelAsync();
        Assert.Equal(HttpStatusCode.Accepted, real.StatusCode);
    }

    [Fact]
    public async Task Behind_a_proxy_the_public_host_is_served_too()
    {
        await using Gateway g = await Gateway.StartAsync(new() { ["CapFeed:PublicBaseUrl"] = "https://warnung.sensorkit.example/" });

        using HttpResponseMessage proxied = await g.SendAsync(HttpMethod.Get, "cap/feed.atom", r => r.Headers.Host = "warnung.sensorkit.example");
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
        using HttpResponseMessage other = await g.SendAsync(HttpMethod.Get, "cap/feed.atom", r => r.Headers.Host = "warnung.sensorkit.example.rebound.example");
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
    }

    [Fact]
    public async Task A_cancel_with_an_origin_header_is_refused()
    {
        await using Gateway g = await Gateway.StartAsync();

        foreach (string origin in (string[])["http://rebound.example", "null", g.Feed.GetLeftPart(UriPartial.Authority)])
        {
            using HttpResponseMessage response = await g.CancelAsync(r => r.Headers.Add("Origin", origin));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.Contains(g.Logs.Lines, l => l.Message.Contains($"Refused a cancel of alert {g.AlertId} from 127.0.0.1: the request comes from a web page", StringComparison.Ordinal));
        using HttpResponseMessage real = await g.CancelAsync();
        Assert.Equal(HttpStatusCode.Accepted, real.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t")]
    public async Task A_cancel_without_an_operator_is_refused(string? name)
    {
        await using Gateway g = await Gateway.StartAsync();
        string header = name is null ? string.Empty : $"{CapFeedServer.OperatorHeader}:{name}\r\n";

        // Written by hand, so the empty header surely goes out as such.
        string response = await g.RawAsync(
            $"POST /alerts/{g.AlertId}/cancel?reason=test HTTP/1.1\r\nHost: 127.0.0.1:{g.Feed.Port}\r\n{header}Content-Length: 0\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 403", response, StringComparison.Ordinal);
        Assert.Contains($"no operator named in {CapFeedServer.OperatorHeader}", response, StringComparison.Ordinal);
        Assert.Contains(g.Logs.Lines, l => l.Message.Contains($"Refused a cancel of alert {g.AlertId} from 127.0.0.1: no operator named", StringComparison.Ordinal));
        using HttpResponseMessage real = await g.CancelAsync();
        Assert.Equal(HttpStatusCode.Accepted, real.StatusCode);
    }

    [Fact]
    public async Task A_cancel_needs_a_reason_of_one_bounded_line()
    {
        await using Gateway g = await Gateway.StartAsync();

        using HttpResponseMessage none = await g.CancelAsync(reason: null);
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        using HttpResponseMessage blank = await g.CancelAsync(body: "  ");
        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        using HttpResponseMessage tooLong = await g.CancelAsync(reason: new string('x', CapFeedServer.MaxReasonLength + 1));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        using HttpResponseMessage twoLines = await g.CancelAsync(body: "first line\nsecond line");
        Assert.Equal(HttpStatusCode.BadRequest, twoLines.StatusCode);
        using HttpResponseMessage huge = await g.CancelAsync(body: new string('x', 100_000));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

        using HttpResponseMessage real = await g.CancelAsync(reason: new string('x', CapFeedServer.MaxReasonLength));
        Assert.Equal(HttpStatusCode.Accepted, real.StatusCode);
    }

    [Fact]
    public async Task A_cancel_is_logged_with_who_and_why_sanitised_and_bounded_and_why_becomes_the_cap_note()
    {
        await using Gateway g = await Gateway.StartAsync();
        string name = "ops-anna-" + new string('n', 100);
        // A right-to-left override would make the log line read differently from what was sent.
        const string Reason = "sensor fouled by mud \u202Etxt.exe";

        using HttpResponseMessage response = await g.CancelAsync(operatorName: name, body: Reason);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        string line = Assert.Single(g.Logs.Lines, l => l.Message.StartsWith($"Cancel of alert {g.AlertId}", StringComparison.Ordinal)).Message;
        Assert.Contains($"by operator '{name[..64]}…' (gateway machine, from 127.0.0.1)", line, StringComparison.Ordinal);
        Assert.Contains("reason 'sensor fouled by mud ?txt.exe': cancelled", line, StringComparison.Ordinal);

        MqttProbe.Received cap = await g.Probe.WaitForAsync(m => m.Topic.Contains("/alerts/cap/", StringComparison.Ordinal) && m.Text.Contains("<msgType>Cancel</msgType>", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "CAP cancel");
        Assert.Contains(Reason, XDocument.Parse(cap.Text).Root!.Element((XNamespace)CapWriter.Namespace + "note")!.Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reason_may_come_as_a_form_field_and_the_older_note_parameter_still_works()
    {
        await using Gateway g = await Gateway.StartAsync();

        using HttpResponseMessage form = await g.CancelAsync(reason: null, content: new FormUrlEncodedContent([new("reason", "drill ended")]));
        Assert.Equal(HttpStatusCode.Accepted, form.StatusCode);
        Assert.Contains(g.Logs.Lines, l => l.Message.Contains("reason 'drill ended': cancelled", StringComparison.Ordinal));

        using HttpResponseMessage again = await g.SendAsync(HttpMethod.Post, $"alerts/{g.AlertId}/cancel?note=twice", r => r.Headers.Add(CapFeedServer.OperatorHeader, "ops"));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Contains(g.Logs.Lines, l => l.Message.Contains("reason 'twice': no such active alert", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_an_operator_token_a_cancel_needs_it()
    {
        string tokenFile = Path.Combine(TestDirectories.Create("token"), "operator-token");
        await File.WriteAllTextAsync(tokenFile, Token + "\n", TestContext.Current.CancellationToken);
        await using Gateway g = await Gateway.StartAsync(new() { ["CapFeed:OperatorTokenFile"] = tokenFile });

        using HttpResponseMessage none = await g.CancelAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", Assert.Single(none.Headers.WwwAuthenticate).Scheme);
        foreach (string wrong in (string[])[Token[..^1], Token + "x", "x", $"Basic {Convert.ToBase64String(Encoding.UTF8.GetBytes(Token))}"])
        {
            using HttpResponseMessage refused = await g.CancelAsync(r => r.Headers.TryAddWithoutValidation("Authorization", wrong.StartsWith("Basic", StringComparison.Ordinal) ? wrong : $"Bearer {wrong}"));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        Assert.Contains(g.Logs.Lines, l => l.Message.Contains("no valid operator token", StringComparison.Ordinal));
        Assert.DoesNotContain(g.Logs.Lines, l => l.Message.Contains(Token[..16], StringComparison.Ordinal));

        using HttpResponseMessage real = await g.CancelAsync(r => r.Headers.Authorization = new("Bearer", Token));
        Assert.Equal(HttpStatusCode.Accepted, real.StatusCode);
        Assert.Contains(g.Logs.Lines, l => l.Message.Contains("by operator 'ops-anna' (operator token, from 127.0.0.1)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Beyond_loopback_the_gateway_does_not_start_without_an_operator_token()
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["CapFeed:Address"] = "0.0.0.0";
        config["CapFeed:PublicBaseUrl"] = "https://warnung.sensorkit.example/";
        using IHost host = Hosts.Gateway(config);
        var error = new StringWriter();

        int code = await GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        string line = Assert.Single(error.ToString().TrimEnd().Split('\n'));
        Assert.StartsWith("invalid configuration: CapFeed:OperatorTokenFile: the feed listens on 0.0.0.0", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("short", "must hold one token of at least 32 characters")]
    [InlineData("two tokens 0123456789abcdef0123456789abcdef", "must hold one token of at least 32 characters")]
    [InlineData(null, "does not exist")]
    public async Task An_unusable_token_file_stops_the_gateway_naming_the_key(string? content, string expected)
    {
        string tokenFile = Path.Combine(TestDirectories.Create("token"), "operator-token");
        if (content is not null)
        {
            await File.WriteAllTextAsync(tokenFile, content, TestContext.Current.CancellationToken);
        }

        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["CapFeed:OperatorTokenFile"] = tokenFile;
        using IHost host = Hosts.Gateway(config);
        var error = new StringWriter();

        int code = await GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        string line = Assert.Single(error.ToString().TrimEnd().Split('\n'));
        Assert.StartsWith("invalid configuration: CapFeed:OperatorTokenFile: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Beyond_loopback_any_host_is_served_and_the_token_is_required()
    {
        string tokenFile = Path.Combine(TestDirectories.Create("token"), "operator-token");
        File.WriteAllText(tokenFile, Token);

        FeedAccess access = FeedAccess.Create(new CapFeedOptions { Address = "0.0.0.0", OperatorTokenFile = tokenFile });

        Assert.False(access.Loopback);
        Assert.True(access.IsServedHost(new Microsoft.AspNetCore.Http.HostString("192.0.2.10:8080")));
        Assert.True(access.TokenRequired);
        Assert.True(access.HasToken($"Bearer {Token}"));
        Assert.False(access.HasToken(null));
    }

    [Theory]
    [InlineData("ops-anna", 64, "ops-anna")]
    [InlineData("a\r\nFake log line", 64, "a??Fake log line")]
    [InlineData("abcdef", 3, "abc…")]
    [InlineData("", 10, "(none)")]
    [InlineData("\u202Eevil\u200B", 10, "?evil?")]
    public void Request_values_are_made_fit_for_one_log_line(string value, int max, string expected) =>
        Assert.Equal(expected, FeedAccess.ForLog(value, max));

    /// <summary>A running gateway with one active public alert, a subscriber, and everything it logs.</summary>
    private sealed class Gateway : IAsyncDisposable
    {
        private readonly IHost _host;
        private readonly HttpClient _http;

        private Gateway(IHost host, MqttProbe probe, LogCollector logs, Uri feed, string alertId)
        {
            _host = host;
            Probe = probe;
            Logs = logs;
            Feed = feed;
            AlertId = alertId;
            _http = new HttpClient { BaseAddress = feed };
        }

        public MqttProbe Probe { get; }

        public LogCollector Logs { get; }

        /// <summary>Where the feed listens (not its public URL).</summary>
        public Uri Feed { get; }

        public string AlertId { get; }

        public static async Task<Gateway> StartAsync(Dictionary<string, string?>? extra = null)
        {
            int port = FreePort.Get();
            Dictionary<string, string?> config = Hosts.GatewayConfig(port);
            config["Rules:Threshold:0:Id"] = "hot";
            config["Rules:Threshold:0:Quantity"] = Quantities.Temperature;
            config["Rules:Threshold:0:Above"] = "30";
            foreach ((string key, string? value) in extra ?? [])
            {
                config[key] = value;
            }

            var logs = new LogCollector();
            IHost host = Hosts.Gateway(config, s => s.AddSingleton<ILoggerProvider>(logs));
            CancellationToken ct = TestContext.Current.CancellationToken;
            await host.StartAsync(ct);
            await host.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), ct);
            MqttProbe probe = await MqttProbe.StartAsync(port);
            await using MqttProbe node = await MqttProbe.StartAsync(port, null, account: TestAccounts.Node(port, "test", "n1"));

            // One node, one hot window: the rule raises at once.
            using var buffer = new PayloadBuffer();
            DateTimeOffset now = DateTimeOffset.UtcNow;
            await node.PublishAsync(Topics.Status("test", "n1"), buffer.Status(new NodeStatusMessage
            {
                Site = "test",
                Node = "n1",
                State = NodeState.Online,
                Time = now,
                Location = new GeoLocation(50.94, 6.96, 53),
                Sensors = [new SensorStatus { Id = "bme280", Type = "bme280", Bus = 1, Address = 0x76, Health = SensorHealth.Ok }],
            }).ToArray());
            await node.PublishAsync(Topics.Telemetry("test", "n1", "bme280", Quantities.Temperature), buffer.Telemetry(new TelemetryMessage
            {
                Site = "test",
                Node = "n1",
                Sensor = "bme280",
                Quantity = Quantities.Temperature,
                Unit = Units.Celsius,
                Sequence = 1,
                WindowStart = now.AddMinutes(-1),
                WindowEnd = now,
                Count = 6,
                Expected = 6,
                Min = 40,
                Max = 40,
                Mean = 40,
                First = 40,
                Last = 40,
            }).ToArray());
            MqttProbe.Received raised = await probe.WaitForAsync(m => m.Topic == Topics.AlertEvent("test", "hot", "n1"), TimeSpan.FromSeconds(10), "alert raised");
            Assert.True(ProtocolJson.TryReadAlert(raised.Payload, out AlertMessage? alert, out string error), error);

            return new Gateway(host, probe, logs, host.Services.GetRequiredService<CapFeedServer>().ListenAddress!, alert.AlertId);
        }

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, Action<HttpRequestMessage>? configure = null, HttpContent? content = null)
        {
            using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
            configure?.Invoke(request);
            return await _http.SendAsync(request, TestContext.Current.CancellationToken);
        }

        /// <summary>Sends <paramref name="request"/> as it is and returns the whole response.</summary>
        public async Task<string> RawAsync(string request)
        {
            CancellationToken ct = TestContext.Current.CancellationToken;
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync(Feed.Host, Feed.Port, ct);
            await using System.Net.Sockets.NetworkStream stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), ct);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return await reader.ReadToEndAsync(ct);
        }

        /// <summary>A cancel as an operator sends it with curl; each argument spoils one part of it.</summary>
        public Task<HttpResponseMessage> CancelAsync(
            Action<HttpRequestMessage>? configure = null,
            string? operatorName = "ops-anna",
            string? reason = "sensor fouled",
            string? body = null,
            HttpContent? content = null)
        {
            string query = body is null && content is null && reason is not null ? $"?reason={Uri.EscapeDataString(reason)}" : string.Empty;
            return SendAsync(
                HttpMethod.Post,
                $"alerts/{AlertId}/cancel{query}",
                r =>
                {
                    if (operatorName is not null)
                    {
                        r.Headers.TryAddWithoutValidation(CapFeedServer.OperatorHeader, operatorName);
                    }

                    configure?.Invoke(r);
                },
                content ?? (body is null ? null : new StringContent(body, Encoding.UTF8, "text/plain")));
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await Probe.DisposeAsync();
            await _host.StopAsync(CancellationToken.None);
            _host.Dispose();
        }
    }
}
