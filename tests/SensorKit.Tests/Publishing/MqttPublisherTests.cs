using System.Buffers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MQTTnet.Protocol;
using SensorKit.Node.Publishing;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Publishing;

/// <summary>The node's publisher against a broker that answers some PUBLISH packets with a refusal.</summary>
public sealed class MqttPublisherTests
{
    [Fact]
    public async Task A_record_the_broker_was_too_busy_for_is_sent_again_on_the_same_connection()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        await using TestBroker broker = await TestBroker.StartAsync(port);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        // The first attempt at sequence 3 gets PUBACK 0x97 Quota exceeded (MQTT 5.0 §3.4.2.1): busy, not a refusal.
        int refused = 0;
        broker.Intercept = e =>
        {
            if (ProtocolJson.TryReadTelemetry(e.ApplicationMessage.Payload.ToArray(), out TelemetryMessage t, out _) && t.Sequence == 3 && Interlocked.CompareExchange(ref refused, 1, 0) == 0)
            {
                e.ProcessPublish = false;
                e.Response.ReasonCode = MqttPubAckReasonCode.QuotaExceeded;
            }

            return Task.CompletedTask;
        };

        using IHost node = Hosts.Node(Hosts.SimulatedNodeConfig("busy-1", port, window: "00:00:00.100", interval: "00:00:00.050"));
        MqttPublisher publisher = node.Services.GetRequiredService<MqttPublisher>();
        await node.StartAsync(ct);
        try
        {
            MqttProbe.Received third = await probe.WaitForAsync(m => Sequence(m) == 3, TimeSpan.FromSeconds(20), "sequence 3 after the quota refusal");
            await probe.WaitForAsync(m => Sequence(m) > 10, TimeSpan.FromSeconds(20), "later windows");

            Assert.Equal(1, refused);
            Assert.True(publisher.IsConnected, "the refusal must not cost the connection");
            Assert.Equal(0, publisher.Rejected);
            Assert.Equal(0, publisher.Backfilled);
            Assert.True(ProtocolJson.TryReadTelemetry(third.Payload, out TelemetryMessage message, out string error), error);
            Assert.False(message.Backfill);
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_record_the_broker_refuses_for_good_is_counted_dropped_and_does_not_block_the_queue()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        await using TestBroker broker = await TestBroker.StartAsync(port);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);
        broker.Intercept = e =>
        {
            if (ProtocolJson.TryReadTelemetry(e.ApplicationMessage.Payload.ToArray(), out TelemetryMessage t, out _) && t.Sequence == 3)
            {
                e.ProcessPublish = false;
                e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            }

            return Task.CompletedTask;
        };

        using IHost node = Hosts.Node(Hosts.SimulatedNodeConfig("refused-1", port, window: "00:00:00.100", interval: "00:00:00.050"));
        MqttPublisher publisher = node.Services.GetRequiredService<MqttPublisher>();
        IOutbox outbox = node.Services.GetRequiredService<IOutbox>();
        await node.StartAsync(ct);
        try
        {
            await probe.WaitForAsync(m => Sequence(m) > 10, TimeSpan.FromSeconds(20), "windows after the refused one");

            Assert.Equal(1, publisher.Rejected);
            Assert.DoesNotContain(probe.All, m => Sequence(m) == 3);
            Assert.False(outbox.TryPeek(OutboxKind.Telemetry, 3, 4, out _), "the refused record must leave the outbox");
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
        }
    }

    private static long Sequence(MqttProbe.Received m) =>
        Topics.TryParseTelemetry(m.Topic, out _) && ProtocolJson.TryReadTelemetry(m.Payload, out TelemetryMessage t, out _) ? t.Sequence : -1;
}
