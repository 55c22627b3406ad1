using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using static SensorKit.Tests.History.HistoryData;

namespace SensorKit.Tests.OpenData;

/// <summary>
/// A real gateway on a fake clock, fed fixed statuses and windows through its ingest, so ids, times and values
/// are the same in every run; requests go over HTTP to its Kestrel on a free loopback port.
/// </summary>
public sealed class OpenDataGateway : IAsyncLifetime
{
    /// <summary>The gateway's clock: a day and an hour after the first window, so the first day is complete.</summary>
    public static readonly DateTimeOffset Now = T0.AddDays(1).AddHours(1);

    private readonly HttpClient _http = new();
    private int _brokerPort;

    public IHost Host { get; private set; } = null!;

    public Uri Base { get; private set; } = null!;

    public FakeTimeProvider Clock { get; } = new(Now);

    public static byte[] Status(string site, string node, double lat, double lon, string sensor)
    {
        string sensors = $$"""{"id":"{{sensor}}","type":"{{sensor}}","bus":1,"address":"0x76","health":"degraded","consecutiveFailures":3,"lastError":"NACK at 0x76"}""";
        return Encoding.UTF8.GetBytes($$"""
            {"schema":"sensorkit.status.v1","site":"{{site}}","node":"{{node}}","state":"online","time":"{{T0:yyyy-MM-ddTHH:mm:ssZ}}","firmware":"1.4.2",
             "started":"{{T0.AddMinutes(-5):yyyy-MM-ddTHH:mm:ssZ}}","uptimeSeconds":300,
             "location":{"lat":{{lat.ToString(CultureInfo.InvariantCulture)}},"lon":{{lon.ToString(CultureInfo.InvariantCulture)}},"alt":53},
             "sensors":[{{sensors}}],
             "outbox":{"queued":12,"bytes":4096,"dropped":7,"corruptRecords":1} }
            """);
    }

    public async ValueTask InitializeAsync()
    {
        _brokerPort = FreePort.Get();
        Dictionary<string, string?> config = Hosts.GatewayConfig(_brokerPort);
        config["OpenData:NodeAttribution:test.n2"] = "Gesamtschule Beispielstadt";
        config["OpenData:DefaultTop"] = "5";
        config["OpenData:MaxTop"] = "50";
        config["OpenData:MaxQueryLength"] = "4096";
        Host = Hosts.Gateway(config, s => s.AddSingleton<TimeProvider>(Clock));
        await Host.StartAsync(TestContext.Current.CancellationToken);
        TelemetryIngest ingest = Host.Services.GetRequiredService<TelemetryIngest>();
        Assert.True(ingest.Handle(Topics.Status("test", "n1"), Status("test", "n1", 50.937512, 6.960349, "bme280")));
        Assert.True(ingest.Handle(Topics.Status("test", "n2"), Status("test", "n2", 50.94049, 6.97051, "bme280")));
        Assert.True(ingest.Handle(Topics.Status("other", "n3"), Status("other", "n3", 51.2, 7.1, "bmp280")));
        using var buffer = new PayloadBuffer();
        long seq = 0;
        void Send(TelemetryMessage m) => Assert.True(ingest.Handle(Topics.Telemetry(m.Site, m.Node, m.Sensor, m.Quantity), buffer.Telemetry(m).Span));
        for (int i = 1; i <= 10; i++)
        {
            Send(Window("n1", T0.AddMinutes(i), ++seq, mean: 20 + i, flags: i == 4 ? QualityFlags.Gaps : QualityFlags.None));
            Send(Window("n1", T0.AddMinutes(i), ++seq, mean: 60 - i, quantity: Quantities.Humidity));
            Send(Window("n2", T0.AddMinutes(i), ++seq, mean: 18 + (i / 2.0)));
        }

        for (int i = 1; i <= 5; i++)
        {
            Send(Window("n3", T0.AddMinutes(i), ++seq, mean: 101_000 + i, sensor: "bmp280", quantity: Quantities.Pressure, site: "other"));
        }

        // Today's window: not in any finished day's archive.
        Send(Window("n1", Now.AddMinutes(-1), ++seq, mean: 30));
        await Host.Services.GetRequiredService<HistoryRecorder>().FlushAsync().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Base = Host.Services.GetRequiredService<CapFeedServer>().BaseAddress!;
    }

    public long StoredWindows => Host.Services.GetRequiredService<ITelemetryHistory>().Count(new HistoryScan { Channels = Host.Services.GetRequiredService<ITelemetryHistory>().Channels() });

    /// <summary>GET a path below the gateway; the body with the gateway's address replaced by http://gateway/.</summary>
    public async Task<(int Status, string ContentType, string Body)> GetAsync(string pathAndQuery)
    {
        using HttpResponseMessage r = await _http.GetAsync(new Uri(Base, pathAndQuery), TestContext.Current.CancellationToken);
        string body = await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return ((int)r.StatusCode, r.Content.Headers.ContentType?.ToString() ?? string.Empty, Normalise(body));
    }

    public async Task<JsonNode> GetJsonAsync(string pathAndQuery)
    {
        (int status, _, string body) = await GetAsync(pathAndQuery);
        Assert.True(status == 200, $"{pathAndQuery}: {status} {body}");
        return JsonNode.Parse(body)!;
    }

    public string Normalise(string body) => body
        .Replace(Base.ToString(), "http://gateway/", StringComparison.Ordinal)
        .Replace($"mqtt://{Base.Host}:{_brokerPort}", "mqtt://gateway:1883", StringComparison.Ordinal);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Host.StopAsync(CancellationToken.None);
        Host.Dispose();
    }
}

/// <summary>Responses compared with files in Golden/; SENSORKIT_UPDATE_GOLDEN=1 rewrites them.</summary>
internal static class Golden
{
    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task AssertAsync(OpenDataGateway gateway, string annex, string name, string request, int status = 200)
    {
        (int actualStatus, string contentType, string body) = await gateway.GetAsync(request);
        string actual = $"GET {request}\n{actualStatus} {contentType}\n\n{(body.Length > 0 && body[0] is '{' or '[' ? JsonNode.Parse(body)!.ToJsonString(Pretty) : body)}\n";
        string file = Path.Combine(RepoPaths.Root, "tests", "SensorKit.Tests", "OpenData", "Golden", annex, name + ".txt");
        if (Environment.GetEnvironmentVariable("SENSORKIT_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllTextAsync(file, actual, TestContext.Current.CancellationToken);
        }

        Assert.True(File.Exists(file), $"no golden file {file}; run with SENSORKIT_UPDATE_GOLDEN=1 and review it");
        Assert.Equal((await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken)).ReplaceLineEndings("\n"), actual.ReplaceLineEndings("\n"));
        Assert.Equal(status, actualStatus);
    }
}
