using MQTTnet.Packets;
using MQTTnet.Protocol;
using static SensorKit.Tests.Gateway.Sessions.SessionTests;

namespace SensorKit.Tests.Gateway.Sessions;

/// <summary>
/// The MQTT 5 limits each side announces in CONNECT and CONNACK, and what the broker does with them, on the embedded
/// broker and on Mosquitto: Receive Maximum (§3.3.4, §4.9), Maximum Packet Size (§3.1.2.11.4, §3.2.2.3.6), Topic
/// Alias (§3.3.2.3.4), shared subscriptions (§4.8.2). Each row says what the broker announces.
/// </summary>
public sealed class FlowControlTests
{
    /// <summary>Mosquitto's defaults (max_inflight_messages 20) and the embedded broker's (Broker:Limits:MaxInflightMessages).</summary>
    public static TheoryData<string, ushort> ReceiveMaxima => new()
    {
        { InteropBroker.Embedded, 20 },
        { InteropBroker.Mosquitto, 20 },
    };

    [Theory]
    [MemberData(nameof(ReceiveMaxima))]
    public async Task A_client_never_has_more_unacknowledged_qos1_messages_than_its_receive_maximum(string broker, ushort announced)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(broker);
        string topic = InteropBroker.Topic("receive-maximum");
        await using WireClient client = await WireClient.ConnectAsync(b.Port, WireClient.Connect("interop-receive-maximum", receiveMaximum: 2));
        Assert.Equal(announced, client.ConnAck.ReceiveMaximum);
        await client.SubscribeAsync(topic);

        await using WireClient publisher = await b.PublisherAsync();
        for (int i = 1; i <= 6; i++)
        {
            await publisher.PublishAsync(topic, $"m{i}");
        }

        // QoS 0 is outside the window (§4.9): sent at once, after m1 and m2, while m3 waits for a PUBACK.
        await publisher.PublishAsync(topic, "marker", MqttQualityOfServiceLevel.AtMostOnce);
        MqttPublishPacket m1 = await client.NextAsync<MqttPublishPacket>();
        MqttPublishPacket m2 = await client.NextAsync<MqttPublishPacket>();
        Assert.Equal(["m1", "m2"], [Text(m1), Text(m2)]);
        Assert.Equal("marker", Text(await client.NextAsync<MqttPublishPacket>()));

        // Each PUBACK lets one more through, in order, never more than two outstanding.
        var outstanding = new Queue<MqttPublishPacket>([m1, m2]);
        for (int i = 3; i <= 6; i++)
        {
            await client.AckAsync(outstanding.Dequeue());
            MqttPublishPacket next = await client.NextAsync<MqttPublishPacket>();
            Assert.Equal($"m{i}", Text(next));
            outstanding.Enqueue(next);
        }

        await client.AckAsync(outstanding.Dequeue());
        await client.AckAsync(outstanding.Dequeue());
        await publisher.PublishAsync(topic, "after");
        Assert.Equal("after", Text(await client.NextAsync<MqttPublishPacket>()));
    }

    /// <summary>
    /// One QoS 2 message more than the broker's Receive Maximum, with none released: the embedded broker ends the
    /// connection with DISCONNECT 0x93 as §3.3.4 requires; Mosquitto 2.0.11 refuses the message (PUBREC 0x97) and stays.
    /// </summary>
    public static TheoryData<string, ushort, bool> Qos2Windows => new()
    {
        { InteropBroker.Embedded, 20, true },
        { InteropBroker.Mosquitto, 20, false },
    };

    [Theory]
    [MemberData(nameof(Qos2Windows))]
    public async Task More_qos2_messages_than_the_brokers_receive_maximum_are_refused(string broker, ushort announced, bool disconnects)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(broker);
        string topic = InteropBroker.Topic("qos2-window");
        await using WireClient publisher = await b.PublisherAsync();
        Assert.Equal(announced, publisher.ConnAck.ReceiveMaximum);
        for (int i = 0; i < announced; i++)
        {
            // PUBREC comes back for each; the PUBREL that would end the exchange is never sent.
            await publisher.SendAsync(publisher.Publish(topic, [(byte)i], MqttQualityOfServiceLevel.ExactlyOnce));
            Assert.True((int)(await publisher.NextAsync<MqttPubRecPacket>()).ReasonCode < 0x80);
        }

        await publisher.SendAsync(publisher.Publish(topic, [0xFF], MqttQualityOfServiceLevel.ExactlyOnce));
        if (disconnects)
        {
            Assert.Equal(MqttDisconnectReasonCode.ReceiveMaximumExceeded, (await publisher.NextAsync<MqttDisconnectPacket>()).ReasonCode);
            Assert.True(await publisher.ClosedAsync());
        }
        else
        {
            Assert.Equal(MqttPubRecReasonCode.QuotaExceeded, (await publisher.NextAsync<MqttPubRecPacket>()).ReasonCode);
        }
    }

    /// <summary>The broker's own limit: 2048 bytes on both (Broker:Limits:MaxPacketBytes, Mosquitto's max_packet_size).</summary>
    public static TheoryData<string> Brokers => InteropBroker.Both;

    private static Task<InteropBroker> SmallPacketsAsync(string broker) => InteropBroker.StartAsync(
        broker,
        new() { ["Broker:Limits:MaxPacketBytes"] = "2048", ["Broker:Limits:MaxConnectBytes"] = "1024" },
        "max_packet_size 2048");

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task The_broker_announces_its_maximum_packet_size_and_disconnects_with_0x95_above_it(string broker)
    {
        await using InteropBroker b = await SmallPacketsAsync(broker);
        await using WireClient publisher = await b.PublisherAsync();
        Assert.Equal(2048u, publisher.ConnAck.MaximumPacketSize);

        string topic = InteropBroker.Topic("too-large");
        Assert.NotNull(await publisher.PublishAsync(topic, new string('.', 1800)));
        // The fixed header of a QoS 1 PUBLISH of 2100 bytes is enough: both brokers refuse on the length. (Sending the
        // body too would leave it unread when the broker closes, and the reset could discard the DISCONNECT.)
        await publisher.SendRawAsync([0x32, 0xB4, 0x10]);
        MqttDisconnectPacket disconnect = await publisher.NextAsync<MqttDisconnectPacket>();
        Assert.Equal(MqttDisconnectReasonCode.PacketTooLarge, disconnect.ReasonCode);
        Assert.True(await publisher.ClosedAsync());
    }

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task A_client_never_receives_a_packet_above_its_maximum_packet_size(string broker)
    {
        await using InteropBroker b = await SmallPacketsAsync(broker);
        string topic = InteropBroker.Topic("client-maximum");
        const uint Maximum = 256;
        string id = $"interop-small-{Guid.NewGuid():N}";
        MqttPublishPacket small, after;
        await using (WireClient client = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, sessionExpiry: 60, maximumPacketSize: Maximum)))
        {
            await client.SubscribeAsync(topic);
            await using (WireClient publisher = await b.PublisherAsync())
            {
                await publisher.PublishAsync(topic, new string('s', 64));
                await publisher.PublishAsync(topic, new string('L', 1024));
                await publisher.PublishAsync(topic, new string('L', 512), MqttQualityOfServiceLevel.AtMostOnce);
                await publisher.PublishAsync(topic, "after");
            }

            // The large ones are discarded as if sent [MQTT-3.1.2-25]: no gap in what follows, nothing held back.
            small = await client.NextAsync<MqttPublishPacket>();
            Assert.Equal(64, small.Payload.Length);
            await client.AckAsync(small);
            after = await client.NextAsync<MqttPublishPacket>();
            Assert.Equal("after", Text(after));
            await client.AckAsync(after);
            Assert.True(client.LargestPacket <= Maximum, $"a packet of {client.LargestPacket} bytes arrived");
            await client.DisconnectAsync();
        }

        // Treated as delivered: not offered again when the session resumes.
        await using WireClient back = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, cleanStart: false, sessionExpiry: 60, maximumPacketSize: Maximum));
        Assert.True(back.ConnAck.IsSessionPresent);
        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.PublishAsync(topic, "marker");
        }

        MqttPublishPacket first = await back.NextAsync<MqttPublishPacket>();
        Assert.True(Text(first) == "marker", $"{Text(first)} came again: {first}; before: small {small.PacketIdentifier}, after {after.PacketIdentifier}");
        Assert.True(back.LargestPacket <= Maximum);
        await back.DisconnectAsync(sessionExpiry: 0);
    }

    /// <summary>Both brokers accept ten aliases (the embedded broker's Broker:Limits:MaxTopicAliases, Mosquitto's max_topic_alias).</summary>
    public static TheoryData<string, ushort> AliasMaxima => new()
    {
        { InteropBroker.Embedded, 10 },
        { InteropBroker.Mosquitto, 10 },
    };

    [Theory]
    [MemberData(nameof(AliasMaxima))]
    public async Task A_publisher_may_use_the_topic_aliases_the_broker_announces_and_no_others(string broker, ushort announced)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(broker);
        string topic = InteropBroker.Topic("alias");
        await using WireClient subscriber = await WireClient.ConnectAsync(b.Port, WireClient.Connect("interop-alias-subscriber"));
        await subscriber.SubscribeAsync(topic);

        await using (WireClient publisher = await b.PublisherAsync())
        {
            Assert.Equal(announced, publisher.ConnAck.TopicAliasMaximum);
            await publisher.PublishAsync(topic, "sets the alias", topicAlias: announced);
            await publisher.PublishAsync(string.Empty, "uses the alias", topicAlias: announced);
            foreach (string expected in new[] { "sets the alias", "uses the alias" })
            {
                MqttPublishPacket received = await subscriber.NextAsync<MqttPublishPacket>();
                Assert.Equal((expected, topic), (Text(received), received.Topic));
                await subscriber.AckAsync(received);
            }

            // Above the maximum: 0x94 Topic Alias invalid [MQTT-3.3.2-9].
            await publisher.SendAsync(publisher.Publish(topic, [1], topicAlias: (ushort)(announced + 1)));
            Assert.Equal(MqttDisconnectReasonCode.TopicAliasInvalid, (await publisher.NextAsync<MqttDisconnectPacket>()).ReasonCode);
            Assert.True(await publisher.ClosedAsync());
        }

        // Aliases belong to a connection (§3.3.2.3.4): on a new one, using an alias nobody set is a protocol error.
        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.SendAsync(publisher.Publish(string.Empty, [2], topicAlias: 1));
            Assert.Equal(MqttDisconnectReasonCode.ProtocolError, (await publisher.NextAsync<MqttDisconnectPacket>()).ReasonCode);
            Assert.True(await publisher.ClosedAsync());
        }
    }

    /// <summary>Mosquitto shares; MQTTnet cannot, and says so in CONNACK and SUBACK (docs/intake.md says what to do).</summary>
    public static TheoryData<string, bool> SharedSubscriptions => new()
    {
        { InteropBroker.Embedded, false },
        { InteropBroker.Mosquitto, true },
    };

    [Theory]
    [MemberData(nameof(SharedSubscriptions))]
    public async Task Shared_subscriptions_are_announced_as_the_broker_has_them(string broker, bool available)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(broker);
        string topic = InteropBroker.Topic("shared");
        await using WireClient one = await WireClient.ConnectAsync(b.Port, WireClient.Connect("interop-shared-1"));
        await using WireClient two = await WireClient.ConnectAsync(b.Port, WireClient.Connect("interop-shared-2"));
        Assert.Equal(available, one.ConnAck.SharedSubscriptionAvailable);
        MqttSubAckPacket subAck = await one.SubscribeAsync($"$share/control-room/{topic}");
        if (!available)
        {
            Assert.Equal(MqttSubscribeReasonCode.SharedSubscriptionsNotSupported, subAck.ReasonCodes.Single());
            return;
        }

        Assert.Equal(MqttSubscribeReasonCode.GrantedQoS1, subAck.ReasonCodes.Single());
        await two.SubscribeAsync($"$share/control-room/{topic}");
        foreach (WireClient member in new[] { one, two })
        {
            await member.SubscribeAsync(topic + "/end");
        }

        await using WireClient publisher = await b.PublisherAsync();
        for (int i = 0; i < 4; i++)
        {
            await publisher.PublishAsync(topic, $"s{i}");
        }

        // Each message goes to one member of the group: four between the two, none twice.
        await publisher.PublishAsync(topic + "/end", "end");
        List<string> received = [];
        foreach (WireClient member in new[] { one, two })
        {
            while (await member.NextAsync<MqttPublishPacket>() is { } p)
            {
                await member.AckAsync(p);
                if (Text(p) == "end")
                {
                    break;
                }

                received.Add(Text(p));
            }
        }

        Assert.Equal(["s0", "s1", "s2", "s3"], received.Order());
    }
}
