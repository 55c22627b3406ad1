using System.Runtime.CompilerServices;
using MQTTnet;
using MQTTnet.Packets;

namespace SensorKit.Gateway.Broker.Transport;

/// <summary>
/// When a message with a Message Expiry Interval reached the broker (MQTT 5.0 §3.3.2.3.3), carried with the message
/// itself: MQTTnet copies a message's user-property list, by reference, into every copy it queues for a subscriber
/// and into the retained store, so the copies can be told their age where MQTTnet has no field for it. An empty list
/// encodes as no user properties at all.
/// </summary>
internal sealed class ArrivalStampedProperties : List<MqttUserProperty>
{
    private ArrivalStampedProperties(List<MqttUserProperty>? properties, long arrived, uint interval)
        : base(properties ?? [])
    {
        Arrived = arrived;
        Interval = interval;
    }

    /// <summary>Arrival, as a <see cref="TimeProvider.GetTimestamp"/> value.</summary>
    public long Arrived { get; }

    /// <summary>The interval the publisher set, in seconds.</summary>
    public uint Interval { get; }

    /// <summary>Stamps a message that is about to be routed; one without an expiry interval is left alone.</summary>
    public static void Stamp(MqttApplicationMessage message, TimeProvider time)
    {
        if (message.MessageExpiryInterval > 0 && message.UserProperties is not ArrivalStampedProperties)
        {
            message.UserProperties = new ArrivalStampedProperties(message.UserProperties, time.GetTimestamp(), message.MessageExpiryInterval);
        }
    }

    /// <summary>
    /// The interval to send on, counted down by the time the message waited in the broker [MQTT-3.3.2-6], rounded
    /// up to whole seconds; null when it has expired and must not be sent [MQTT-3.3.2-5].
    /// </summary>
    public static uint? Remaining(MqttPublishPacket packet, TimeProvider time)
    {
        if (packet.MessageExpiryInterval == 0 || packet.UserProperties is not ArrivalStampedProperties stamp)
        {
            return packet.MessageExpiryInterval;
        }

        double left = stamp.Interval - time.GetElapsedTime(stamp.Arrived).TotalSeconds;
        return left > 0 ? (uint)Math.Ceiling(left) : null;
    }
}

/// <summary>
/// Which queued PUBLISH packets have been sent before, broker-wide. MQTTnet keeps a session's unacknowledged packets
/// and queues the same objects again when the client returns, but with a new packet identifier and without the DUP
/// flag; a resent PUBLISH must have both its original identifier [MQTT-4.4.0-1] and DUP set [MQTT-3.3.1-1], and a
/// QoS 2 message the client has received (PUBREC) is resent as PUBREL, not PUBLISH (§4.3.3).
/// </summary>
internal sealed class DeliveryLedger
{
    private readonly ConditionalWeakTable<MqttPublishPacket, Delivery> _sent = [];

    internal sealed class Delivery(ushort packetIdentifier)
    {
        public ushort PacketIdentifier { get; } = packetIdentifier;

        /// <summary>QoS 2: the client has answered PUBREC, so it has the message and waits for PUBREL.</summary>
        public bool Received { get; set; }
    }

    /// <summary>A packet going out for the first time, with the identifier it goes out with.</summary>
    public void Record(MqttPublishPacket packet) => _sent.AddOrUpdate(packet, new Delivery(packet.PacketIdentifier));

    /// <summary>The earlier delivery of this packet object; null when it has not been sent before.</summary>
    public Delivery? Find(MqttPublishPacket packet) => _sent.TryGetValue(packet, out Delivery? d) ? d : null;
}
