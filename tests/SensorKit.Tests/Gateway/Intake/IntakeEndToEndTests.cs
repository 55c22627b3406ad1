using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Intake;

/// <summary>The intake through real brokers: poison that is retained, bursts that must not lose a window, floods that must not fill the log.</summary>
public sealed class IntakeEndToEndTests
{
    private static Dictionary<string, string?> WithHeatRule(Dictionary<string, string?> config)
    {
        config["Rules:Threshold:0:Id"] = "heat";
        config["Rules:Threshold:0:Quantity"] = "temperature";
        config["Rules:Threshold:0:Above"] = "35";
        config["State:FlushInterval"] = "00:00:01";
        config["Rules:Operator:CheckInterval"] = "00:00:00.250";
        return config;
    }

    /// <summary>An anonymous client (Mosquitto), or a node's client with its own account (embedded broker).</summary>
    private static async Task<IMqttClient> ClientAsync(int port, string id, TestAccount? account = null)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(account?.ClientId ?? id).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500);
        if (account is not null)
        {
            options.WithCredentials(account.Name, account.Password);
        }

        MqttClientConnectResult r = await client.ConnectAsync(options.Build(), TestContext.Current.CancellationToken);
        Assert.Equal(MqttClientConnectResultCode.Success, r.ResultCode);
        return client;
    }

    private static Task<IMqttClient> NodeAsync(int port, string node) => ClientAsync(port, node, TestAccounts.Node(port, "test", node));

    private static MqttApplicationMessage Message(string topic, string payload, bool retain = false) => new MqttApplicationMessageBuilder()
        .WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(payload)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build();

    [Fact]
    public async Task A_retained_poison_message_on_mosquitto_is_refused_at_every_restart_and_the_gateway_keeps_alerting()
    {
        await using MosquittoBroker mosquitto = await MosquittoBroker.StartAsync();
        string state = TestDirectories.Create("poison-state");
        using (IMqttClient poisoner = await ClientAsync(mosquitto.Port, "poisoner"))
        {
            await poisoner.PublishAsync(Message(Topics.Status("test", "p1"), PayloadFuzzer.Status("test", "p1"), retain: true), TestContext.Current.CancellationToken);
            string poison = PayloadFuzzer.Valid("test", "p1", 20, DateTimeOffset.UtcNow, 1).Replace("\"min\":20", "\"min\":1e400", StringComparison.Ordinal);
            await poisoner.PublishAsync(Message(Topics.Telemetry("test", "p1", "bme280", Quantities.Temperature), poison, retain: true), TestContext.Current.CancellationToken);
        }

        for (int run = 0; run < 3; run++)
        {
            var config = WithHeatRule(new()
            {
                ["Broker:Mode"] = "External",
                ["Broker:Uri"] = $"mqtt://127.0.0.1:{mosquitto.Port}",
                ["Broker:ClientId"] = "sensorkit-gateway-poison-test",
                ["State:Directory"] = state,
            });
            using IHost gateway = Hosts.Gateway(config);
            bool stopping = false;
            gateway.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping = true);
            await gateway.StartAsync(TestContext.Current.CancellationToken);
            TelemetryIngest ingest = gateway.Services.GetRequiredService<TelemetryIngest>();
            await Wait.UntilAsync(() => ingest.RejectedBy.GetValueOrDefault(TelemetryIngest.Malformed) >= 1, TimeSpan.FromSeconds(10), "the retained poison refused");

            await using MqttProbe probe = await MqttProbe.StartAsync(mosquitto.Port, "sensorkit/v1/+/alerts/#");
            string node = $"alive-{run}";
            await probe.PublishAsync(Topics.Status("test", node), Encoding.UTF8.GetBytes(PayloadFuzzer.Status("test", node)));
            await Wait.UntilAsync(() => ingest.Nodes.ContainsKey(("test", node)), TimeSpan.FromSeconds(10), "the status");
            await probe.PublishAsync(Topics.Telemetry("test", node, "bme280", Quantities.Temperature), Encoding.UTF8.GetBytes(PayloadFuzzer.Valid("test", node, 40, DateTimeOffset.UtcNow, 1)));
            await probe.WaitForAsync(m => m.Topic == Topics.AlertEvent("test", "heat", node), TimeSpan.FromSeconds(15), $"the alert of run {run}");

            Assert.False(stopping, $"run {run}: the host began to stop by itself");
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task A_valid_qos1_burst_loses_no_acknowledged_window_and_hides_no_crossing()
    {
        const int Publishers = 4;
        const int Windows = 2_500;
        const int Canaries = 20;
        int port = FreePort.Get();
        using IHost gateway = Hosts.Gateway(WithHeatRule(Hosts.GatewayConfig(port)));
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        TelemetryIngest ingest = gateway.Services.GetRequiredService<TelemetryIngest>();
        await using MqttProbe probe = await MqttProbe.StartAsync(port, "sensorkit/v1/+/alerts/#");

        DateTimeOffset start = DateTimeOffset.UtcNow.AddDays(-10);
        var clients = new List<IMqttClient>();
        for (int p = 0; p < Publishers; p++)
        {
            IMqttClient c = await NodeAsync(port, $"burst-{p}");
            await c.PublishAsync(Message(Topics.Status("test", $"burst-{p}"), PayloadFuzzer.Status("test", $"burst-{p}")), TestContext.Current.CancellationToken);
            clients.Add(c);
        }

        var canaries = new List<IMqttClient>();
        for (int c = 0; c < Canaries; c++)
        {
            IMqttClient client = await NodeAsync(port, $"canary-{c}");
            await client.PublishAsync(Message(Topics.Status("test", $"canary-{c}"), PayloadFuzzer.Status("test", $"canary-{c}")), TestContext.Current.CancellationToken);
            canaries.Add(client);
        }

        long acceptedBefore = ingest.Accepted;

        // Every publisher sends its whole backlog without waiting for acknowledgements, as a fleet does after an
        // outage; the canaries cross the threshold in the middle of it.
        var sends = new List<Task<MqttClientPublishResult>>();
        for (int i = 0; i < Windows; i++)
        {
            for (int p = 0; p < Publishers; p++)
            {
                string node = $"burst-{p}";
                sends.Add(clients[p].PublishAsync(Message(Topics.Telemetry("test", node, "bme280", Quantities.Temperature), PayloadFuzzer.Valid("test", node, 20, start.AddMinutes(i), i)), TestContext.Current.CancellationToken));
            }

            if (i % (Windows / Canaries) == Windows / Canaries / 2)
            {
                string node = $"canary-{i / (Windows / Canaries)}";
                sends.Add(canaries[i / (Windows / Canaries)].PublishAsync(Message(Topics.Telemetry("test", node, "bme280", Quantities.Temperature), PayloadFuzzer.Valid("test", node, 40, DateTimeOffset.UtcNow, 1)), TestContext.Current.CancellationToken));
            }
        }

        MqttClientPublishResult[] results = await Task.WhenAll(sends);
        Assert.All(results, r => Assert.True(r.IsSuccess, $"{r.ReasonCode} {r.ReasonString}"));

        // Acknowledged means evaluated: the count is complete the moment the last PUBACK is in.
        Assert.Equal(sends.Count, ingest.Accepted - acceptedBefore);
        Assert.Equal(0, ingest.Rejected);
        await Wait.UntilAsync(
            () => probe.All.Count(m => m.Topic.StartsWith("sensorkit/v1/test/alerts/event/heat/canary-", StringComparison.Ordinal)) >= Canaries,
            TimeSpan.FromSeconds(20),
            "every canary's alert");
        foreach (IMqttClient c in clients.Concat(canaries))
        {
            c.Dispose();
        }

        await gateway.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Ten_thousand_bad_statuses_cost_a_few_log_lines_and_are_all_counted()
    {
        int port = FreePort.Get();
        var logs = new LogCollector();
        using IHost gateway = Hosts.Gateway(WithHeatRule(Hosts.GatewayConfig(port)), s => s.AddSingleton<ILoggerProvider>(logs));
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        TelemetryIngest ingest = gateway.Services.GetRequiredService<TelemetryIngest>();
        // A broken node: its own account, its own status topic, 10,000 statuses of the wrong shape.
        using IMqttClient flooder = await NodeAsync(port, "flooder");
        string[] shapes = ["\"location\":5", "\"outbox\":[]", "\"sensors\":[1]"];
        var sends = new List<Task<MqttClientPublishResult>>();
        for (int i = 0; i < 10_000; i++)
        {
            string payload = $$"""{"schema":"sensorkit.status.v1","site":"test","node":"flooder","state":"online","time":"2026-07-01T00:00:00Z",{{shapes[i % 3]}}}""";
            sends.Add(flooder.PublishAsync(Message(Topics.Status("test", "flooder"), payload), TestContext.Current.CancellationToken));
        }

        MqttClientPublishResult[] results = await Task.WhenAll(sends);

        // Refused with "payload format invalid", so the flooder learns it and no subscriber sees the garbage.
        Assert.All(results, r => Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, r.ReasonCode));
        Assert.Equal(10_000, ingest.RejectedBy[TelemetryIngest.Malformed]);
        var lines = logs.Lines.Where(l => l.Level >= LogLevel.Warning).ToList();
        Assert.True(lines.Count <= TelemetryIngest.LogBurst, string.Join('\n', lines.Select(l => l.Message)));
        Assert.All(lines, l => Assert.True(l.Message.Length < 1000, l.Message));
        await gateway.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Counters_are_served_in_the_prometheus_text_format()
    {
        int port = FreePort.Get();
        using IHost gateway = Hosts.Gateway(WithHeatRule(Hosts.GatewayConfig(port)));
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        using (IMqttClient client = await NodeAsync(port, "m1"))
        {
            await client.PublishAsync(Message(Topics.Status("test", "m1"), "{not json"), TestContext.Current.CancellationToken);
            await client.PublishAsync(Message(Topics.Status("test", "m1"), PayloadFuzzer.Status("test", "m1")), TestContext.Current.CancellationToken);
        }

        using var http = new HttpClient();
        Uri metrics = new(gateway.Services.GetRequiredService<CapFeedServer>().BaseAddress!, "metrics");
        string text = string.Empty;
        await Wait.UntilAsync(
            () =>
            {
                text = http.GetStringAsync(metrics, TestContext.Current.CancellationToken).GetAwaiter().GetResult();
                return text.Contains("sensorkit_gateway_messages_rejected_total", StringComparison.Ordinal);
            },
            TimeSpan.FromSeconds(10),
            "the rejected counter at /metrics");
        Assert.Contains("reason=\"malformed\"", text, StringComparison.Ordinal);
        Assert.Contains("sensorkit_gateway_messages_accepted_total", text, StringComparison.Ordinal);
        Assert.Contains("sensorkit_gateway_ingest_lag", text, StringComparison.Ordinal);
        await gateway.StopAsync(TestContext.Current.CancellationToken);
    }
}
