using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Intake;

/// <summary>The embedded broker against packets a client library would never send, over bare sockets.</summary>
public sealed class BrokerHardeningTests
{
    private static async Task<(IHost Gateway, int Port)> StartGatewayAsync(Dictionary<string, string?>? extra = null)
    {
        int port = FreePort.Get();
        var config = Hosts.GatewayConfig(port);
        config["Rules:Threshold:0:Id"] = "heat";
        config["Rules:Threshold:0:Quantity"] = "temperature";
        config["Rules:Threshold:0:Above"] = "35";
        foreach (var (k, v) in extra ?? [])
        {
            config[k] = v;
        }

        IHost gateway = Hosts.Gateway(config);
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        return (gateway, port);
    }

    [Fact]
    public async Task A_connect_declaring_256_MiB_is_closed_before_the_broker_reserves_it()
    {
        (IHost gateway, int port) = await StartGatewayAsync();
        using (gateway)
        {
            long before = GC.GetTotalAllocatedBytes();
            for (int i = 0; i < 40; i++)
            {
                // CONNECT with the largest remaining length MQTT can encode: 268,435,455 bytes.
                await using RawMqtt raw = await RawMqtt.ConnectAsync(port);
                await raw.SendAsync([0x10, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x04]);
                Assert.True(await raw.ClosedAsync(), "the broker kept the connection open");
            }

            // Without the guard each connection reserved the full 256 MiB (10 GiB for 40); other tests run in this
            // process too, so the bound is loose but three orders of magnitude below that.
            long allocated = GC.GetTotalAllocatedBytes() - before;
            Assert.True(allocated < 512L * 1024 * 1024, $"{allocated / 1024 / 1024} MiB allocated");
            await ANodeStillAlertsAsync(port);
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task A_publish_above_the_packet_limit_closes_the_connection()
    {
        (IHost gateway, int port) = await StartGatewayAsync();
        using (gateway)
        {
            await using RawMqtt raw = await RawMqtt.ConnectAsync(port);
            await raw.SendAsync(MqttPackets.Connect(5, "big-sender"));
            Assert.Equal(0x20, (await raw.ReadAsync())!.Value.Type);
            // 1 MiB declared, 16 bytes sent: refused on the length alone.
            await raw.SendAsync([0x30, 0x80, 0x80, 0x40, 0x00, 0x01, (byte)'t']);
            Assert.True(await raw.ClosedAsync());
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    public static TheoryData<string, byte[]> BadTopics => new()
    {
        { "multi-level wildcard", Encoding.UTF8.GetBytes("sensorkit/v1/test/alerts/#") },
        { "single-level wildcard", Encoding.UTF8.GetBytes("sensorkit/v1/+/n1/status") },
        { "NUL", Encoding.UTF8.GetBytes("sensorkit/v1/test/n1\0/status") },
        { "invalid UTF-8", [.. Encoding.UTF8.GetBytes("sensorkit/v1/test/"), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes("/status")] },
    };

    [Theory]
    [MemberData(nameof(BadTopics))]
    public async Task A_publish_topic_the_specification_forbids_is_refused_and_never_forwarded(string what, byte[] topic)
    {
        (IHost gateway, int port) = await StartGatewayAsync();
        using (gateway)
        {
            await using MqttProbe probe = await MqttProbe.StartAsync(port, "sensorkit/#");
            await using (RawMqtt raw = await RawMqtt.ConnectAsync(port))
            {
                await raw.SendAsync(MqttPackets.Connect(5, "bad-topic"));
                Assert.Equal(0x20, (await raw.ReadAsync())!.Value.Type);
                await raw.SendAsync(MqttPackets.Publish(5, string.Empty, Encoding.UTF8.GetBytes("forged"), rawTopic: topic));
                Assert.True(await raw.ClosedAsync(), $"connection kept open after a {what} topic");
            }

            // A marker published afterwards arrives; the forged message never did.
            await using (MqttProbe marker = await MqttProbe.StartAsync(port, null, account: TestAccounts.Node(port, "test", "marker")))
            {
                await marker.PublishAsync(Topics.Status("test", "marker"), Encoding.UTF8.GetBytes(PayloadFuzzer.Status("test", "marker")));
            }

            await probe.WaitForAsync(m => m.Topic == Topics.Status("test", "marker"), TimeSpan.FromSeconds(10), "the marker");
            Assert.DoesNotContain(probe.All, m => m.Text == "forged");
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Theory]
    [InlineData(4, 0x02)] // 3.1.1: identifier rejected
    [InlineData(5, 0x85)] // 5.0: client identifier not valid
    public async Task A_client_id_that_is_not_valid_utf8_is_refused(byte level, byte expected)
    {
        (IHost gateway, int port) = await StartGatewayAsync();
        using (gateway)
        {
            await using RawMqtt raw = await RawMqtt.ConnectAsync(port);
            await raw.SendAsync(MqttPackets.Connect(level, string.Empty, rawClientId: [0x6E, 0xFF, 0xC3, 0x28]));
            var connAck = await raw.ReadAsync();
            Assert.NotNull(connAck);
            Assert.Equal(0x20, connAck.Value.Type);
            Assert.Equal(expected, connAck.Value.Body[1]);
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Theory]
    [InlineData(0x03, "reserved flag")]
    [InlineData(0x1A, "will QoS 3")]
    [InlineData(0x22, "will retain without a will")]
    [InlineData(0x42, "password without a user name (3.1.1)")]
    public async Task Connect_flags_the_specification_forbids_close_the_connection_without_a_connack(byte flags, string what)
    {
        (IHost gateway, int port) = await StartGatewayAsync();
        using (gateway)
        {
            await using RawMqtt raw = await RawMqtt.ConnectAsync(port);
            await raw.SendAsync(MqttPackets.Connect(4, "flags", flags));
            Assert.True(await raw.ClosedAsync(), what);
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task A_first_packet_that_is_not_connect_closes_the_connection()
    {
        (IHost gateway, int port) = await StartGatewayAsync();
        using (gateway)
        {
            await using RawMqtt raw = await RawMqtt.ConnectAsync(port);
            await raw.SendAsync(MqttPackets.Publish(4, "sensorkit/v1/test/n1/status", [1]));
            Assert.True(await raw.ClosedAsync());
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task An_mqtt311_client_with_an_empty_client_id_and_a_clean_session_is_assigned_one()
    {
        (IHost gateway, int port) = await StartGatewayAsync();
        using (gateway)
        {
            await using (RawMqtt clean = await RawMqtt.ConnectAsync(port))
            {
                await clean.SendAsync(MqttPackets.Connect(4, string.Empty, flags: 0x02));
                Assert.Equal([0x00, 0x00], (await clean.ReadAsync())!.Value.Body);
            }

            // 3.1.1 §3.1.3-8: without a clean session an empty id is refused. MQTTnet closes the connection rather
            // than sending CONNACK 0x02 first; either way no session is created.
            await using (RawMqtt persistent = await RawMqtt.ConnectAsync(port))
            {
                await persistent.SendAsync(MqttPackets.Connect(4, string.Empty, flags: 0x00));
                var answer = await persistent.ReadAsync();
                Assert.True(answer is null || answer.Value.Body[1] == 0x02, $"accepted: {answer?.Body[1]}");
            }

            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Mosquitto_sub_with_default_options_reads_the_embedded_broker()
    {
        string sub = Requires.Program("mosquitto_sub", "apt-get install mosquitto-clients");
        (IHost gateway, int port) = await StartGatewayAsync();
        using (gateway)
        {
            // The README's command exactly, with the port: MQTT 3.1.1 and no client id.
            var psi = new ProcessStartInfo(sub, ["-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "sensorkit/#", "-v", "-C", "1", "-W", "20"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using Process p = Process.Start(psi)!;
            await using MqttProbe publisher = await MqttProbe.StartAsync(port, null, account: TestAccounts.Node(port, "test", "watched"));
            Task<string> output = p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            string topic = Topics.Status("test", "watched");
            await Wait.UntilAsync(
                () =>
                {
                    _ = publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(PayloadFuzzer.Status("test", "watched")));
                    return output.IsCompleted || p.HasExited;
                },
                TimeSpan.FromSeconds(20),
                "mosquitto_sub output");
            await p.WaitForExitAsync(TestContext.Current.CancellationToken);
            string err = await p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            Assert.True(p.ExitCode == 0, $"mosquitto_sub exited {p.ExitCode}: {err}");
            Assert.StartsWith(topic, await output, StringComparison.Ordinal);
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Connections_beyond_the_limit_are_closed_at_once()
    {
        (IHost gateway, int port) = await StartGatewayAsync(new() { ["Broker:Limits:MaxConnections"] = "3" });
        using (gateway)
        {
            // The gateway's own client holds one connection; two more fit.
            var held = new List<RawMqtt>();
            for (int i = 0; i < 2; i++)
            {
                RawMqtt c = await RawMqtt.ConnectAsync(port);
                await c.SendAsync(MqttPackets.Connect(5, $"held-{i}"));
                Assert.Equal(0x20, (await c.ReadAsync())!.Value.Type);
                held.Add(c);
            }

            await using RawMqtt extra = await RawMqtt.ConnectAsync(port);
            Assert.True(await extra.ClosedAsync());
            foreach (RawMqtt c in held)
            {
                await c.DisposeAsync();
            }

            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task An_ipv4_mapped_ipv6_address_is_taken_as_the_ipv4_address()
    {
        (IHost gateway, int port) = await StartGatewayAsync(new() { ["Broker:Address"] = "::ffff:127.0.0.1" });
        using (gateway)
        {
            await ANodeStillAlertsAsync(port);
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Two_thousand_mutated_packets_over_forty_connections_leave_the_gateway_alerting()
    {
        (IHost gateway, int port) = await StartGatewayAsync();
        using (gateway)
        {
            var random = new Random(20261201);
            byte[] connect = MqttPackets.Connect(5, "fuzz");
            byte[] publish = MqttPackets.Publish(5, Topics.Status("test", "fuzz"), Encoding.UTF8.GetBytes(PayloadFuzzer.Status("test", "fuzz")));
            await Parallel.ForAsync(0, 40, TestContext.Current.CancellationToken, async (c, ct) =>
            {
                var r = new Random(random.Next() + c);
                for (int i = 0; i < 50; i++)
                {
                    await using RawMqtt raw = await RawMqtt.ConnectAsync(port);
                    byte[] packet = r.Next(3) switch
                    {
                        0 => MqttPackets.Mutate(r, connect),
                        1 => [.. connect, .. MqttPackets.Mutate(r, publish)],
                        _ => MqttPackets.RandomBytes(r),
                    };
                    try
                    {
                        await raw.SendAsync(packet);
                        await raw.ReadAsync(TimeSpan.FromMilliseconds(200));
                    }
                    catch (IOException)
                    {
                        // The broker hung up mid-write: that is what it should do with most of these.
                    }
                    catch (TimeoutException)
                    {
                        // An incomplete packet: the broker waits for the rest, until its CONNECT timeout.
                    }
                }
            });

            await ANodeStillAlertsAsync(port);
            await gateway.StopAsync(TestContext.Current.CancellationToken);
        }

    }

    /// <summary>A node announces itself and crosses a shipped threshold; its alert must come out.</summary>
    internal static async Task ANodeStillAlertsAsync(int port)
    {
        await using MqttProbe probe = await MqttProbe.StartAsync(port, "sensorkit/#");
        string node = $"check-{Guid.NewGuid():N}"[..20];
        await using MqttProbe publisher = await MqttProbe.StartAsync(port, null, account: TestAccounts.Node(port, "test", node));
        await publisher.PublishAsync(Topics.Status("test", node), Encoding.UTF8.GetBytes(PayloadFuzzer.Status("test", node)));
        DateTimeOffset end = DateTimeOffset.UtcNow;
        await publisher.PublishAsync(Topics.Telemetry("test", node, "bme280", Quantities.Temperature), Encoding.UTF8.GetBytes(PayloadFuzzer.Valid("test", node, 45, end, 1)));
        await probe.WaitForAsync(m => m.Topic == Topics.AlertEvent("test", "heat", node) && m.Text.Contains("\"raised\"", StringComparison.Ordinal), TimeSpan.FromSeconds(15), $"an alert for {node}");
    }
}
