using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace SensorKit.Tests.Gateway.Sessions;

/// <summary>
/// An MQTT client at the packet level, for what a client library decides by itself: when to acknowledge, the
/// packet identifiers and DUP flags it sees, the properties of CONNACK and PUBLISH, aliases, oversized packets.
/// MQTTnet's packet encoder and decoder do the bytes; every packet from the broker is read into a queue, with the
/// size it had on the wire.
/// </summary>
internal sealed class WireClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(10);

    private readonly TcpClient _tcp;
    private readonly FrameCounter _frames;
    private readonly MqttChannelAdapter _adapter;
    private readonly Channel<MqttPacket?> _received = Channel.CreateUnbounded<MqttPacket?>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private readonly Queue<MqttPacket> _early = new();
    private ushort _nextId;

    private WireClient(TcpClient tcp, MqttProtocolVersion version)
    {
        _tcp = tcp;
        _frames = new FrameCounter(tcp.GetStream());
        var channel = new MqttTcpChannel(_frames, tcp.Client.LocalEndPoint!, tcp.Client.RemoteEndPoint!, null!);
        _adapter = new MqttChannelAdapter(channel, new MqttPacketFormatterAdapter(version, new MqttBufferWriter(4096, 1024 * 1024)), MqttNetNullLogger.Instance);
        _reader = ReadAsync();
    }

    public MqttConnAckPacket ConnAck { get; private set; } = null!;

    /// <summary>The largest packet the broker has sent on this connection, in bytes on the wire.</summary>
    public int LargestPacket => _frames.Largest;

    /// <summary>Connects and waits for CONNACK, whatever its reason code.</summary>
    public static async Task<WireClient> ConnectAsync(int port, MqttConnectPacket connect, MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port, TestContext.Current.CancellationToken);
        var client = new WireClient(tcp, version);
        await client.SendAsync(connect);
        client.ConnAck = await client.NextAsync<MqttConnAckPacket>();
        return client;
    }

    /// <summary>A CONNECT with what these tests vary; MQTT 5 properties are ignored by the 3.1.1 encoder.</summary>
    public static MqttConnectPacket Connect(string clientId, bool cleanStart = true, uint sessionExpiry = 0, (string User, string Password)? account = null,
        ushort receiveMaximum = 0, uint maximumPacketSize = 0) => new()
    {
        ClientId = clientId,
        CleanSession = cleanStart,
        KeepAlivePeriod = 60,
        SessionExpiryInterval = sessionExpiry,
        ReceiveMaximum = receiveMaximum,
        MaximumPacketSize = maximumPacketSize,
        Username = account?.User,
        Password = account is { } a ? Encoding.UTF8.GetBytes(a.Password) : null,
    };

    public Task SendAsync(MqttPacket packet) => _adapter.SendPacketAsync(packet, TestContext.Current.CancellationToken);

    /// <summary>Bytes as they are, for what MQTTnet's encoder does not write (a DISCONNECT with an explicit 0, half a packet).</summary>
    public Task SendRawAsync(byte[] bytes) => _frames.WriteAsync(bytes, TestContext.Current.CancellationToken).AsTask();

    /// <summary>The next packet from the broker; null when it closed the connection. Fails after the wait.</summary>
    public async Task<MqttPacket?> NextAsync(TimeSpan? wait = null)
    {
        if (_early.TryDequeue(out MqttPacket? early))
        {
            return early;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(wait ?? DefaultWait);
        try
        {
            return await _received.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no packet from the broker within {(wait ?? DefaultWait).TotalSeconds} s");
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>The next packet, which must be a <typeparamref name="T"/>.</summary>
    public async Task<T> NextAsync<T>(TimeSpan? wait = null)
        where T : MqttPacket
    {
        MqttPacket? packet = await NextAsync(wait);
        return packet as T ?? throw new InvalidOperationException($"expected {typeof(T).Name}, got {packet?.ToString() ?? "the connection closed"}");
    }

    /// <summary>True when the broker closes the connection within the wait (after whatever it still sent).</summary>
    public async Task<bool> ClosedAsync(TimeSpan? wait = null)
    {
        while (true)
        {
            if (await NextAsync(wait) is null)
            {
                return true;
            }
        }
    }

    /// <summary>Subscribes; what arrives before the SUBACK (retained messages may) is kept for <see cref="NextAsync(TimeSpan?)"/>.</summary>
    public async Task<MqttSubAckPacket> SubscribeAsync(string filter, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce)
    {
        await SendAsync(new MqttSubscribePacket
        {
            PacketIdentifier = NextId(),
            TopicFilters = { new MqttTopicFilter { Topic = filter, QualityOfServiceLevel = qos } },
        });
        List<MqttPacket> before = [];
        while (true)
        {
            MqttPacket? packet = await NextAsync();
            if (packet is MqttSubAckPacket subAck)
            {
                foreach (MqttPacket p in before)
                {
                    _early.Enqueue(p);
                }

                return subAck;
            }

            before.Add(packet as MqttPublishPacket ?? throw new InvalidOperationException($"expected SUBACK, got {packet?.ToString() ?? "the connection closed"}"));
        }
    }

    /// <summary>Publishes and, for QoS 1 and 2, completes the exchange; returns the PUBACK (PUBREC for QoS 2), null for QoS 0.</summary>
    public async Task<MqttPacketWithIdentifier?> PublishAsync(string topic, string payload, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce,
        uint messageExpiry = 0, ushort topicAlias = 0, bool retain = false)
    {
        var publish = Publish(topic, Encoding.UTF8.GetBytes(payload), qos, messageExpiry, topicAlias, retain);
        await SendAsync(publish);
        switch (qos)
        {
            case MqttQualityOfServiceLevel.AtLeastOnce:
                return await NextAsync<MqttPubAckPacket>();
            case MqttQualityOfServiceLevel.ExactlyOnce:
                MqttPubRecPacket rec = await NextAsync<MqttPubRecPacket>();
                await SendAsync(new MqttPubRelPacket { PacketIdentifier = rec.PacketIdentifier });
                await NextAsync<MqttPubCompPacket>();
                return rec;
            default:
                return null;
        }
    }

    public MqttPublishPacket Publish(string topic, byte[] payload, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce, uint messageExpiry = 0, ushort topicAlias = 0, bool retain = false) => new()
    {
        Topic = topic,
        PayloadSegment = payload,
        QualityOfServiceLevel = qos,
        PacketIdentifier = qos == MqttQualityOfServiceLevel.AtMostOnce ? (ushort)0 : NextId(),
        MessageExpiryInterval = messageExpiry,
        TopicAlias = topicAlias,
        Retain = retain,
    };

    public Task AckAsync(MqttPublishPacket publish) => SendAsync(new MqttPubAckPacket { PacketIdentifier = publish.PacketIdentifier });

    /// <summary>
    /// A normal DISCONNECT, with a session expiry when given (MQTT 5.0 §3.14.2.2.2), and waits for the broker to close
    /// the connection: then it has handled everything sent before, and a new connection with the same client id is
    /// not a takeover of this one (which would drop what this one still had in flight).
    /// </summary>
    public async Task DisconnectAsync(uint? sessionExpiry = null)
    {
        // MQTTnet's encoder writes no property for 0, so an explicit 0 is written by hand.
        if (sessionExpiry == 0)
        {
            await SendRawAsync([0xE0, 0x07, 0x00, 0x05, 0x11, 0, 0, 0, 0]);
        }
        else
        {
            await SendAsync(new MqttDisconnectPacket { SessionExpiryInterval = sessionExpiry ?? 0 });
        }

        Assert.True(await ClosedAsync(), "the broker kept the connection open after DISCONNECT");
        await DisposeAsync();
    }

    private ushort NextId() => _nextId = (ushort)((_nextId % ushort.MaxValue) + 1);

    private async Task ReadAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                MqttPacket? packet = await _adapter.ReceivePacketAsync(_stop.Token);
                if (packet is null)
                {
                    break;
                }

                _received.Writer.TryWrite(packet);
            }
        }
        catch (Exception e) when (e is MQTTnet.Exceptions.MqttCommunicationException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The broker closed the connection, or this client did.
        }
        finally
        {
            _received.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync();
        _tcp.Dispose();
        await _reader;
        _adapter.Dispose();
        _stop.Dispose();
    }

    /// <summary>Passes the broker's bytes on, following their MQTT framing to know each packet's size (5.0 §2.1).</summary>
    private sealed class FrameCounter(NetworkStream inner) : SensorKit.Gateway.Broker.Transport.ReadInspectingStream(inner)
    {
        private long _remaining;
        private int _size;
        private int _multiplier = 1;
        private bool _inLength;

        public int Largest { get; private set; }

        protected override void Inspect(ReadOnlySpan<byte> data)
        {
            foreach (byte b in data)
            {
                if (_remaining > 0)
                {
                    // Inside a body: skip it quickly.
                    _remaining--;
                    if (_remaining == 0)
                    {
                        Largest = Math.Max(Largest, _size);
                    }

                    continue;
                }

                if (!_inLength)
                {
                    _inLength = true;
                    _size = 1;
                    _multiplier = 1;
                    _remaining = 0;
                    continue;
                }

                _size++;
                _remaining += (b & 0x7F) * _multiplier;
                _multiplier *= 128;
                if ((b & 0x80) == 0)
                {
                    _inLength = false;
                    _size += (int)_remaining;
                    if (_remaining == 0)
                    {
                        Largest = Math.Max(Largest, _size);
                    }
                }
            }
        }
    }
}
