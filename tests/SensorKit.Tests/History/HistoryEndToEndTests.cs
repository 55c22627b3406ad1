using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using SensorKit.Gateway;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using static SensorKit.Tests.History.HistoryData;

namespace SensorKit.Tests.History;

/// <summary>A real gateway host: windows in over MQTT (or the ingest), out of the history.</summary>
public sealed class HistoryEndToEndTests
{
    private static byte[] Status(string node, DateTimeOffset time) => Encoding.UTF8.GetBytes($$"""
        {"schema":"sensorkit.status.v1","site":"test","node":"{{node}}","state":"online","time":"{{time.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}",
         "location":{"lat":50.94,"lon":6.96},"sensors":[{"id":"bme280","type":"bme280","bus":1,"address":"0x76","health":"ok","consecutiveFailures":0}]}
        """);

    [Fact]
    public async Task Windows_a_node_publishes_come_back_in_time_order_with_backfill_and_late_windows_and_copies_stored_once()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        string state = TestDirectories.Create("history-e2e");
        Dictionary<string, string?> config = Hosts.GatewayConfig(port);
        config["State:Directory"] = state;
        DateTimeOffset now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60);
        var sent = new List<TelemetryMessage>();
        using (IHost gateway = Hosts.Gateway(config))
        {
            await gateway.StartAsync(ct);
            await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), ct);
            await using MqttProbe node = await MqttProbe.StartAsync(port, filter: null, account: TestAccounts.Node(port, "test", "h1"));
            Assert.True((await node.PublishAsync(Topics.Status("test", "h1"), Status("h1", now))).IsSuccess);
            using var buffer = new PayloadBuffer();
            long seq = 0;
            async Task SendAsync(TelemetryMessage m)
            {
                MqttClientPublishResult r = await node.PublishAsync(Topics.Telemetry(m.Site, m.Node, m.Sensor, m.Quantity), buffer.Telemetry(m).ToArray());
                Assert.True(r.IsSuccess, $"seq {m.Sequence}: {r.ReasonCode}; refused by the ingest: {string.Join(", ", gateway.Services.GetRequiredService<TelemetryIngest>().RejectedBy.Select(k => $"{k.Key} {k.Value}"))}");
            }

            // Live windows of the last half hour, two channels; then the outage's backlog (the hour before) from the
            // outbox, oldest first; then late windows out of order, and copies: a redelivery and a replay.
            string[] quantities = [Quantities.Temperature, Quantities.Humidity];
            foreach (int i in Enumerable.Range(0, 30).Reverse())
            {
                foreach (string q in quantities)
                {
                    sent.Add(Window("h1", now.AddMinutes(-i), ++seq, mean: 20 + i, quantity: q));
                }
            }

            foreach (int i in Enumerable.Range(30, 60).Reverse())
            {
                foreach (string q in quantities)
                {
                    sent.Add(Window("h1", now.AddMinutes(-i), ++seq, mean: 20 + i, quantity: q, backfill: true));
                }
            }

            foreach (int i in new[] { 95, 91, 99, 93 })
            {
                sent.Add(Window("h1", now.AddMinutes(-i), ++seq, mean: 20 + i, flags: QualityFlags.Gaps));
            }

            foreach (TelemetryMessage m in sent)
            {
                await SendAsync(m);
            }

            await SendAsync(sent[10]);
            await SendAsync(sent[70] with { Sequence = ++seq, Mean = sent[70].Min });

            HistoryRecorder recorder = gateway.Services.GetRequiredService<HistoryRecorder>();
            await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10), ct);
            AssertStored(gateway.Services.GetRequiredService<ITelemetryHistory>(), sent, now);
            Assert.True(Directory.Exists(recorder.JournalDirectory));
            await gateway.StopAsync(CancellationToken.None);
        }

        // A clean stop leaves no journal to replay, and the next gateway on the folder answers the same.
        Assert.Empty(Directory.GetFiles(Path.Combine(state, "history-journal")));
        using IHost again = Hosts.Gateway(config);
        await again.StartAsync(ct);
        AssertStored(again.Services.GetRequiredService<ITelemetryHistory>(), sent, now);
        await again.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_gateway_rolls_up_and_deletes_on_its_own_clock()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        var clock = new FakeTimeProvider(T0);
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["History:RawRetention"] = "02:00:00";
        config["History:RollupRetention"] = "1.00:00:00";
        config["CapFeed:Enabled"] = "false";
        config["Cap:Web"] = "https://warnings.example/alerts/{alertId}";
        using IHost gateway = Hosts.Gateway(config, s => s.AddSingleton<TimeProvider>(clock));
        await gateway.StartAsync(ct);
        TelemetryIngest ingest = gateway.Services.GetRequiredService<TelemetryIngest>();
        HistoryRecorder recorder = gateway.Services.GetRequiredService<HistoryRecorder>();
        ITelemetryHistory history = gateway.Services.GetRequiredService<ITelemetryHistory>();
        using var buffer = new PayloadBuffer();
        Assert.True(ingest.Handle(Topics.Status("test", "r1"), Status("r1", T0)));
        // Three hours of windows, sent as the gateway clock goes.
        for (int i = 1; i <= 180; i++)
        {
            clock.SetUtcNow(T0.AddMinutes(i));
            TelemetryMessage m = Window("r1", T0.AddMinutes(i), i, mean: i);
            Assert.True(ingest.Handle(Topics.Telemetry("test", "r1", "bme280", Quantities.Temperature), buffer.Telemetry(m).Span));
        }

        await recorder.FlushAsync(retention: true).WaitAsync(TimeSpan.FromSeconds(10), ct);
        var range = new HistoryQuery { From = T0, To = T0.AddDays(2), Limit = HistoryQuery.MaxLimit };
        List<HistoryRow> rows = All(history, range);
        // At T0 + 3 h the first hour is past the two hours kept raw: one rollup, then 120 windows.
        Assert.Equal([HistoryRowKind.Hour, .. Enumerable.Repeat(HistoryRowKind.Window, 120)], rows.Select(r => r.Kind));
        Assert.Equal((60, 60L * 6, 30.5), (rows[0].Windows, rows[0].Count, rows[0].Mean));

        // A day later everything raw is gone and only the rollups of the last day remain.
        clock.SetUtcNow(T0.AddDays(1).AddMinutes(90));
        await recorder.FlushAsync(retention: true).WaitAsync(TimeSpan.FromSeconds(10), ct);
        rows = All(history, range);
        Assert.Equal([T0.AddHours(1), T0.AddHours(2)], rows.Select(r => r.Start));
        Assert.All(rows, r => Assert.Equal(HistoryRowKind.Hour, r.Kind));
        await gateway.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("History:RawRetention", "00:30:00", "History:RawRetention: 00:30:00 must be at least an hour (rollups are hourly)")]
    [InlineData("History:RollupRetention", "1.00:00:00", "History:RollupRetention: 1.00:00:00 must be at least RawRetention (30.00:00:00)")]
    [InlineData("History:BatchSize", "0", "History:BatchSize: 0 must be between 1 and 100000")]
    [InlineData("History:FlushInterval", "00:00:00.001", "History:FlushInterval: 00:00:00.0010000 must be between 10 ms and 1 minute")]
    [InlineData("History:MaxJournalBytes", "1000", "History:MaxJournalBytes: 1000 must be at least 1048576 (1 MiB)")]
    [InlineData("History:FlushInterval", "soon", "Failed to convert configuration value 'soon' at 'History:FlushInterval' to type 'System.TimeSpan'.")]
    [InlineData("History:RawRetension", "1.00:00:00", "History:RawRetension: unknown key")]
    public async Task A_bad_history_setting_stops_the_gateway_with_exit_code_2_naming_the_key(string key, string value, string message)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config[key] = value;
        using IHost host = Hosts.Gateway(config);
        var error = new StringWriter();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));

        int code = await GatewayHost.RunAsync(host, error, timeout.Token);

        Assert.Equal(2, code);
        Assert.Equal($"invalid configuration: {message}", error.ToString().TrimEnd());
    }

    [Fact]
    public async Task A_state_folder_the_history_cannot_use_stops_the_gateway_naming_the_key()
    {
        string file = Path.Combine(TestDirectories.Create("history-not-a-folder"), "state");
        await File.WriteAllTextAsync(file, "a file, not a folder", TestContext.Current.CancellationToken);
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["State:Directory"] = file;
        using IHost host = Hosts.Gateway(config);
        var error = new StringWriter();

        int code = await GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.StartsWith("invalid configuration: State:Directory: cannot create or open ", error.ToString(), StringComparison.Ordinal);
    }

    private static void AssertStored(ITelemetryHistory history, List<TelemetryMessage> sent, DateTimeOffset now)
    {
        List<HistoryRow> rows = All(history, new HistoryQuery { Node = "h1", From = now.AddHours(-3), To = now.AddMinutes(5), Limit = 50 });
        TelemetryMessage[] expected = [.. sent.OrderBy(m => m.Quantity == Quantities.Temperature ? 0 : 1).ThenBy(m => m.WindowEnd)];
        Assert.Equal(expected.Select(m => (m.Quantity, m.WindowEnd, m.Sequence, m.Mean, m.Backfill, m.Flags)), rows.Select(r => (r.Channel.Quantity, r.End, r.Sequence!.Value, r.Mean, r.Backfill, r.Flags)));
    }
}
