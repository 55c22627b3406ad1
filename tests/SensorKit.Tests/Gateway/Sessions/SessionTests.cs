using System.Diagnostics;
using System.Text;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace SensorKit.Tests.Gateway.Sessions;

/// <summary>
/// Sessions that outlive their connection, on the embedded broker and on Mosquitto alike: a control room that was
/// away gets the alerts it missed, unacknowledged ones come again, and a session and its queue end when their time
/// is up. MQTT 5.0 §4.1, §4.4, §3.1.2.11.2, §3.3.2.3.3; MQTT 3.1.1 §3.1.2.4.
/// </summary>
public sealed class SessionTests
{
    public static TheoryData<string, MqttProtocolVersion> BrokersAndVersions => new()
    {
        { InteropBroker.Embedded, MqttProtocolVersion.V500 },
        { InteropBroker.Embedded, MqttProtocolVersion.V311 },
        { InteropBroker.Mosquitto, MqttProtocolVersion.V500 },
        { InteropBroker.Mosquitto, MqttProtocolVersion.V311 },
    };

    [Theory]
    [MemberData(nameof(BrokersAndVersions))]
    public async Task Qos1_messages_published_while_a_persistent_subscriber_is_away_arrive_when_it_returns(string broker, MqttProtocolVersion version)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(broker);
        string topic = InteropBroker.Topic("away");
        string id = $"interop-control-room-{version}";
        // MQTT 5: the session outlives the connection by its expiry; 3.1.1: when CleanSession is 0.
        bool v5 = version == MqttProtocolVersion.V500;
        await using (WireClient first = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, cleanStart: v5, sessionExpiry: 60), version))
        {
            Assert.False(first.ConnAck.IsSessionPresent);
            await first.SubscribeAsync(topic);
            await first.DisconnectAsync();
        }

        await using (WireClient publisher = await b.PublisherAsync())
        {
            for (int i = 1; i <= 3; i++)
            {
                await publisher.PublishAsync(topic, $"alert {i}");
            }
        }

        await using WireClient back = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, cleanStart: false, sessionExpiry: 60), version);
        Assert.True(back.ConnAck.IsSessionPresent, "the broker kept no session");
        for (int i = 1; i <= 3; i++)
        {
            MqttPublishPacket publish = await back.NextAsync<MqttPublishPacket>();
            Assert.Equal($"alert {i}", Text(publish));
            Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, publish.QualityOfServiceLevel);
            await back.AckAsync(publish);
        }

        // The subscription is part of the session: a message published now arrives without subscribing again.
        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.PublishAsync(topic, "alert 4");
        }

        Assert.Equal("alert 4", Text(await back.NextAsync<MqttPublishPacket>()));
        await back.DisconnectAsync(sessionExpiry: v5 ? 0 : null);
    }

    /// <summary>A queue of 5 (Broker:Limits:MaxQueuedMessagesPerClient, Mosquitto's max_queued_messages): how many of 8 wait for an away client.</summary>
    public static TheoryData<string, int> QueueLimits => new()
    {
        { InteropBroker.Embedded, 5 },
        { InteropBroker.Mosquitto, 5 },
    };

    [Theory]
    [MemberData(nameof(QueueLimits))]
    public async Task An_away_subscribers_queue_keeps_the_oldest_messages_up_to_its_limit(string broker, int kept)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(broker, new() { ["Broker:Limits:MaxQueuedMessagesPerClient"] = "5" }, "max_queued_messages 5");
        string topic = InteropBroker.Topic("queue-limit");
        string id = "interop-queue-limit";
        await using (WireClient subscriber = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, sessionExpiry: 60)))
        {
            await subscriber.SubscribeAsync(topic);
            await subscriber.DisconnectAsync();
        }

        await using (WireClient publisher = await b.PublisherAsync())
        {
            for (int i = 1; i <= 8; i++)
            {
                await publisher.PublishAsync(topic, $"m{i}");
            }
        }

        await using WireClient back = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, cleanStart: false, sessionExpiry: 60));
        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.PublishAsync(topic, "marker");
        }

        List<string> received = [];
        while (await back.NextAsync<MqttPublishPacket>() is { } publish && Text(publish) != "marker")
        {
            received.Add(Text(publish));
            await back.AckAsync(publish);
        }

        Assert.Equal(Enumerable.Range(1, kept).Select(i => $"m{i}"), received);
        await back.DisconnectAsync(sessionExpiry: 0);
    }

    public static TheoryData<string, MqttQualityOfServiceLevel> BrokersAndQos => new()
    {
        { InteropBroker.Embedded, MqttQualityOfServiceLevel.AtLeastOnce },
        { InteropBroker.Embedded, MqttQualityOfServiceLevel.ExactlyOnce },
        { InteropBroker.Mosquitto, MqttQualityOfServiceLevel.AtLeastOnce },
        { InteropBroker.Mosquitto, MqttQualityOfServiceLevel.ExactlyOnce },
    };

    [Theory]
    [MemberData(nameof(BrokersAndQos))]
    public async Task An_unacknowledged_message_is_sent_again_on_reconnect_with_dup_and_its_packet_identifier(string broker, MqttQualityOfServiceLevel qos)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(broker);
        string topic = InteropBroker.Topic("redelivery");
        string id = $"interop-redelivery-{(int)qos}";
        MqttConnectPacket Connect(bool clean) => WireClient.Connect(id, clean, sessionExpiry: 60);

        ushort packetId;
        await using (WireClient subscriber = await WireClient.ConnectAsync(b.Port, Connect(clean: true)))
        {
            await subscriber.SubscribeAsync(topic, qos);
            await using (WireClient publisher = await b.PublisherAsync())
            {
                await publisher.PublishAsync(topic, "unacknowledged", qos);
            }

            MqttPublishPacket first = await subscriber.NextAsync<MqttPublishPacket>();
            Assert.False(first.Dup);
            packetId = first.PacketIdentifier;
            // No PUBACK; for QoS 2 the PUBREC, but no PUBCOMP after the broker's PUBREL.
            await subscriber.DisconnectAsync();
        }

        await using (WireClient back = await WireClient.ConnectAsync(b.Port, Connect(clean: false)))
        {
            Assert.True(back.ConnAck.IsSessionPresent);
            MqttPublishPacket again = await back.NextAsync<MqttPublishPacket>();
            Assert.Equal("unacknowledged", Text(again));
            Assert.True(again.Dup, "a resent PUBLISH must have DUP set [MQTT-3.3.1-1]");
            Assert.Equal(packetId, again.PacketIdentifier);
            if (qos == MqttQualityOfServiceLevel.AtLeastOnce)
            {
                await back.AckAsync(again);
                await back.DisconnectAsync();
            }
            else
            {
                await back.SendAsync(new MqttPubRecPacket { PacketIdentifier = again.PacketIdentifier });
                Assert.Equal(packetId, (await back.NextAsync<MqttPubRelPacket>()).PacketIdentifier);
                // Received, not completed: next time only the release is outstanding.
                await back.DisconnectAsync();
                await using WireClient third = await WireClient.ConnectAsync(b.Port, Connect(clean: false));
                MqttPubRelPacket release = await third.NextAsync<MqttPubRelPacket>();
                Assert.Equal(packetId, release.PacketIdentifier);
                await third.SendAsync(new MqttPubCompPacket { PacketIdentifier = release.PacketIdentifier });
                await third.DisconnectAsync();
            }
        }

        // Acknowledged: nothing comes again; the first thing to arrive is a new message.
        await using WireClient last = await WireClient.ConnectAsync(b.Port, Connect(clean: false));
        Assert.True(last.ConnAck.IsSessionPresent);
        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.PublishAsync(topic, "next", qos);
        }

        MqttPublishPacket next = await last.NextAsync<MqttPublishPacket>();
        Assert.Equal("next", Text(next));
        Assert.False(next.Dup);
        await last.DisconnectAsync(sessionExpiry: 0);
    }

    /// <summary>
    /// Rows: the expiry set at CONNECT, the one set at DISCONNECT (null: none), how long the client stays away,
    /// and whether the session, and the message queued for it meanwhile, are still there.
    /// </summary>
    public static TheoryData<string, uint, uint?, double, bool> Expiries
    {
        get
        {
            var rows = new TheoryData<string, uint, uint?, double, bool>();
            foreach (string broker in new[] { InteropBroker.Embedded, InteropBroker.Mosquitto })
            {
                rows.Add(broker, 2, null, 0.5, true);
                rows.Add(broker, 2, null, 3, false);
                rows.Add(broker, 0, null, 0, false);
                // DISCONNECT may change the interval (§3.14.2.2.2): longer, or 0 to end the session at once.
                rows.Add(broker, 1, 4, 2, true);
                rows.Add(broker, 60, 0, 0, false);
            }

            return rows;
        }
    }

    [Theory]
    [MemberData(nameof(Expiries))]
    public async Task A_session_and_its_queue_last_as_long_as_the_session_expiry_interval(string broker, uint atConnect, uint? atDisconnect, double awaySeconds, bool kept)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(broker);
        string topic = InteropBroker.Topic("expiry");
        string id = $"interop-expiry-{Guid.NewGuid():N}";

        await using (WireClient subscriber = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, cleanStart: true, sessionExpiry: atConnect)))
        {
            await subscriber.SubscribeAsync(topic);
            await subscriber.DisconnectAsync(atDisconnect);
        }

        var away = Stopwatch.StartNew();
        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.PublishAsync(topic, "while away");
        }

        await Elapsed(away, TimeSpan.FromSeconds(awaySeconds));
        await using WireClient back = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, cleanStart: false, sessionExpiry: 60));
        Assert.Equal(kept, back.ConnAck.IsSessionPresent);
        if (!kept)
        {
            // A new session: subscribe again; the message queued for the old one must not come.
            await back.SubscribeAsync(topic);
            await using WireClient publisher = await b.PublisherAsync();
            await publisher.PublishAsync(topic, "marker");
        }

        Assert.Equal(kept ? "while away" : "marker", Text(await back.NextAsync<MqttPublishPacket>()));
        await back.DisconnectAsync(sessionExpiry: 0);
    }

    public static TheoryData<string, bool> BrokersAndRetain => new()
    {
        { InteropBroker.Embedded, false },
        { InteropBroker.Embedded, true },
        { InteropBroker.Mosquitto, false },
        { InteropBroker.Mosquitto, true },
    };

    /// <summary>
    /// A message waits 2 s: one with an expiry of 1 s is not delivered [MQTT-3.3.2-5], one with 60 s arrives with
    /// what is left of it [MQTT-3.3.2-6]. Queued for an away session, or retained (docs/protocol.md relies on both).
    /// </summary>
    [Theory]
    [MemberData(nameof(BrokersAndRetain))]
    public async Task A_message_past_its_expiry_is_not_delivered_and_the_others_count_down(string broker, bool retained)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(broker);
        string topic = InteropBroker.Topic("message-expiry");
        string id = $"interop-message-expiry-{Guid.NewGuid():N}";
        string filter = topic + "/#";
        if (!retained)
        {
            await using WireClient subscriber = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, cleanStart: true, sessionExpiry: 60));
            await subscriber.SubscribeAsync(filter);
            await subscriber.DisconnectAsync();
        }

        var waited = Stopwatch.StartNew();
        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.PublishAsync(topic + "/short", "expires", messageExpiry: 1, retain: retained);
            await publisher.PublishAsync(topic + "/long", "stays", messageExpiry: 60, retain: retained);
        }

        await Elapsed(waited, TimeSpan.FromSeconds(2.2));
        await using WireClient back = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, cleanStart: retained, sessionExpiry: 60));
        if (retained)
        {
            await back.SubscribeAsync(filter);
        }

        // Published after the wait: it comes after anything still queued or retained.
        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.PublishAsync(topic + "/marker", "marker");
        }

        MqttPublishPacket stays = await back.NextAsync<MqttPublishPacket>();
        Assert.Equal("stays", Text(stays));
        Assert.InRange(stays.MessageExpiryInterval, 50u, 58u);
        await back.AckAsync(stays);
        MqttPublishPacket marker = await back.NextAsync<MqttPublishPacket>();
        Assert.Equal("marker", Text(marker));
        Assert.Equal(0u, marker.MessageExpiryInterval);
        await back.AckAsync(marker);
        await back.DisconnectAsync(sessionExpiry: 0);
    }

    internal static string Text(MqttPublishPacket publish) => Encoding.UTF8.GetString(publish.Payload);

    /// <summary>Until <paramref name="wanted"/> has passed on <paramref name="since"/>: the expiry under test is measured in time, so time must pass.</summary>
    internal static Task Elapsed(Stopwatch since, TimeSpan wanted) =>
        Support.Wait.UntilAsync(() => since.Elapsed >= wanted, wanted + TimeSpan.FromSeconds(5), $"{wanted.TotalSeconds} s to pass");
}
