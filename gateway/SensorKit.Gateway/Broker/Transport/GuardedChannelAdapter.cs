using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Packets;

namespace SensorKit.Gateway.Broker.Transport;

/// <summary>
/// MQTTnet's channel adapter with the two CONNECT details MQTTnet's broker leaves out: an MQTT 3.1.1 client with an
/// empty client id and a clean session gets one assigned (3.1.1 §3.1.3-6 allows it, and mosquitto_sub relies on it),
/// and an MQTT 5 client learns the broker's maximum packet size from CONNACK (5.0 §3.2.2.3.6).
/// </summary>
internal sealed class GuardedChannelAdapter(IMqttChannelAdapter inner, uint maximumPacketSize) : IMqttChannelAdapter
{
    private bool _connectSeen;

    /// <summary>The id this adapter gave a client that sent none; null when the client chose its own.</summary>
    public string? AssignedClientId { get; private set; }

    public long BytesReceived => inner.BytesReceived;

    public long BytesSent => inner.BytesSent;

    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

    public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
    {
        MqttPacket packet = await inner.ReceivePacketAsync(cancellationToken).ConfigureAwait(false);
        if (!_connectSeen && packet is MqttConnectPacket connect)
        {
            _connectSeen = true;
            if (string.IsNullOrEmpty(connect.ClientId) && connect.CleanSession && PacketFormatterAdapter.ProtocolVersion != MqttProtocolVersion.V500)
            {
                connect.ClientId = AssignedClientId = AnonymousClientId();
            }
        }

        return packet;
    }

    public void ResetStatistics() => inner.ResetStatistics();

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        if (packet is MqttConnAckPacket connAck && PacketFormatterAdapter.ProtocolVersion == MqttProtocolVersion.V500)
        {
            connAck.MaximumPacketSize = maximumPacketSize;
        }

        return inner.SendPacketAsync(packet, cancellationToken);
    }

    public void Dispose() => inner.Dispose();

    /// <summary>A broker-assigned id: its prefix is reserved, so no client can choose one (EmbeddedBroker refuses it).</summary>
    internal static string AnonymousClientId() => $"{ReservedPrefix}{Guid.NewGuid():N}";

    internal const string ReservedPrefix = "sensorkit-anon-";
}
