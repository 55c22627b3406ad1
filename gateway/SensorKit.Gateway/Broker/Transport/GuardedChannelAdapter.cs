using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace SensorKit.Gateway.Broker.Transport;

/// <summary>
/// MQTTnet's channel adapter, with what MQTTnet's broker leaves out of MQTT done on the packets as they pass:
/// <list type="bullet">
/// <item>CONNECT: an MQTT 3.1.1 client with an empty client id and a clean session gets one (3.1.1 §3.1.3-6);
/// the session expiry is the one <see cref="BrokerSessions"/> grants.</item>
/// <item>CONNACK: the broker's Maximum Packet Size, Receive Maximum and Topic Alias Maximum, and the granted Session
/// Expiry Interval where it differs from the one asked for (5.0 §3.2.2.3).</item>
/// <item>To the client: no more unacknowledged QoS 1 and 2 messages than its Receive Maximum (§4.9), nothing larger
/// than its Maximum Packet Size [MQTT-3.1.2-24], no message past its expiry, the expiry counted down
/// (§3.3.2.3.3), and a resent message with DUP and its first packet identifier (§4.4).</item>
/// <item>From the client: topic aliases within the announced maximum (§3.3.2.3.4), QoS 2 messages within the broker's
/// Receive Maximum (§3.3.4), a session expiry set at DISCONNECT (§3.14.2.2.2), and DISCONNECT 0x95 before closing
/// on a packet above the limit (§3.2.2.3.6).</item>
/// </list>
/// A message the broker must treat as delivered without sending it [MQTT-3.1.2-25] is acknowledged to MQTTnet with a
/// PUBACK (PUBCOMP) made up here, so MQTTnet drops it from the session instead of keeping it for a redelivery.
/// </summary>
internal sealed class GuardedChannelAdapter(
    IMqttChannelAdapter inner, MqttFrameGuard guard, BrokerLimits limits, DeliveryLedger ledger, BrokerSessions sessions, ITransportEvents events, TimeProvider time)
    : IMqttChannelAdapter
{
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Lock _flow = new();
    private readonly Lock _measureLock = new();
    private readonly Dictionary<ushort, MqttPublishPacket> _inflight = [];
    private readonly Queue<MqttPublishPacket> _held = new();
    private readonly HashSet<ushort> _incomingQos2 = [];
    private readonly HashSet<ushort> _aliases = [];
    private readonly ConcurrentQueue<MqttPacket> _injected = new();
    private readonly TaskCompletionSource _finished = NewSignal();
    private TaskCompletionSource _wake = NewSignal();
    private Task<MqttPacket>? _pendingRead;
    private MqttPacketFormatterAdapter? _measure;
    private int _window = limits.MaxInflightMessages;
    private uint _clientMaximumPacketSize;
    private uint _requestedExpiry;
    private uint _grantedExpiry;
    private bool _v5;

    /// <summary>The client's CONNECT, once it has arrived.</summary>
    public MqttConnectPacket? Connect { get; private set; }

    /// <summary>The id this adapter gave a client that sent none; null when the client chose its own.</summary>
    public string? AssignedClientId { get; private set; }

    /// <summary>The client id of the session <see cref="BrokerSessions"/> opened for this connection; null before (or if refused).</summary>
    public string? SessionClientId { get; private set; }

    /// <summary>How long the session outlives this connection, in seconds: granted at CONNECT, changed by DISCONNECT.</summary>
    public uint FinalSessionExpiry { get; private set; }

    /// <summary>Completes once the connection has ended and MQTTnet is done with it.</summary>
    public Task Finished => _finished.Task;

    public long BytesReceived => inner.BytesReceived;

    public long BytesSent => inner.BytesSent;

    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

    public void ResetStatistics() => inner.ResetStatistics();

    /// <summary>
    /// Called by <see cref="BrokerSessions"/> once the CONNECT is accepted. MQTTnet is told "never expires" or "ends
    /// with the connection" only: it would count an expiry from the session's first CONNECT and ignore DISCONNECT.
    /// </summary>
    internal void GrantSession(string clientId, uint requested, uint granted)
    {
        SessionClientId = clientId;
        _requestedExpiry = requested;
        _grantedExpiry = FinalSessionExpiry = granted;
        if (_v5)
        {
            Connect!.SessionExpiryInterval = granted > 0 ? uint.MaxValue : 0;
        }
    }

    public async Task<MqttPacket?> ReceivePacketAsync(CancellationToken cancellationToken)
    {
        (MqttPacket? packet, bool madeUp) = await NextAsync(cancellationToken).ConfigureAwait(false);
        if (packet is null || madeUp)
        {
            return packet;
        }

        switch (packet)
        {
            case MqttConnectPacket connect when Connect is null:
                OnConnect(connect);
                break;
            case MqttPublishPacket publish:
                if (await RefusedAsync(publish).ConfigureAwait(false))
                {
                    // A protocol error: DISCONNECT sent, and MQTTnet ends the connection as if the client had closed it.
                    return null;
                }

                break;
            case MqttPubAckPacket ack:
                await AcknowledgedAsync(ack.PacketIdentifier, cancellationToken).ConfigureAwait(false);
                break;
            case MqttPubRecPacket rec when (int)rec.ReasonCode >= 0x80:
                await AcknowledgedAsync(rec.PacketIdentifier, cancellationToken).ConfigureAwait(false);
                break;
            case MqttPubRecPacket rec:
                lock (_flow)
                {
                    if (_inflight.TryGetValue(rec.PacketIdentifier, out MqttPublishPacket? sent) && ledger.Find(sent) is { } delivery)
                    {
                        delivery.Received = true;
                    }
                }

                break;
            case MqttPubCompPacket comp:
                await AcknowledgedAsync(comp.PacketIdentifier, cancellationToken).ConfigureAwait(false);
                break;
            case MqttPubRelPacket rel:
                lock (_flow)
                {
                    _incomingQos2.Remove(rel.PacketIdentifier);
                }

                break;
            case MqttDisconnectPacket disconnect:
                OnDisconnect(disconnect);
                break;
        }

        return packet;
    }

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        switch (packet)
        {
            case MqttConnAckPacket connAck when _v5:
                connAck.MaximumPacketSize = (uint)limits.MaxPacketBytes;
                if (connAck.ReasonCode == MqttConnectReasonCode.Success)
                {
                    connAck.ReceiveMaximum = (ushort)limits.MaxInflightMessages;
                    connAck.TopicAliasMaximum = (ushort)limits.MaxTopicAliases;
                    if (_grantedExpiry != _requestedExpiry)
                    {
                        connAck.SessionExpiryInterval = _grantedExpiry;
                    }
                }

                break;
            case MqttPublishPacket publish:
                return SendPublishAsync(publish, cancellationToken);
            case MqttPubRecPacket rec when (int)rec.ReasonCode >= 0x80:
                // The broker refused a QoS 2 message: that exchange is over (§4.3.3).
                lock (_flow)
                {
                    _incomingQos2.Remove(rec.PacketIdentifier);
                }

                break;
        }

        return TransmitAsync(packet, cancellationToken);
    }

    private void OnConnect(MqttConnectPacket connect)
    {
        Connect = connect;
        _v5 = PacketFormatterAdapter.ProtocolVersion == MqttProtocolVersion.V500;
        if (string.IsNullOrEmpty(connect.ClientId) && connect.CleanSession && !_v5)
        {
            connect.ClientId = AssignedClientId = AnonymousClientId();
        }

        if (_v5)
        {
            // Receive Maximum absent means 65,535 (§3.1.2.11.3); Maximum Packet Size absent means no limit (§3.1.2.11.4).
            _window = Math.Min(connect.ReceiveMaximum == 0 ? ushort.MaxValue : connect.ReceiveMaximum, limits.MaxInflightMessages);
            _clientMaximumPacketSize = connect.MaximumPacketSize;
        }
    }

    private void OnDisconnect(MqttDisconnectPacket disconnect)
    {
        if (!_v5 || SessionClientId is null || guard.DisconnectSessionExpiry is not { } asked)
        {
            // Absent: the expiry from CONNECT stands.
            return;
        }

        // A session that was to end with its connection cannot be kept at DISCONNECT [MQTT-3.14.2-2].
        uint final = _grantedExpiry == 0 ? 0 : Math.Min(asked, limits.MaxSessionExpirySeconds);
        FinalSessionExpiry = final;
        Connect!.SessionExpiryInterval = disconnect.SessionExpiryInterval = final > 0 ? uint.MaxValue : 0;
    }

    /// <summary>True when an incoming PUBLISH breaks the limits this broker announced; the DISCONNECT is sent.</summary>
    private async Task<bool> RefusedAsync(MqttPublishPacket publish)
    {
        if (!_v5)
        {
            return false;
        }

        (MqttDisconnectReasonCode Code, string Reason)? refusal = null;
        if (publish.TopicAlias > 0)
        {
            if (publish.TopicAlias > limits.MaxTopicAliases)
            {
                refusal = (MqttDisconnectReasonCode.TopicAliasInvalid, "topic-alias-invalid");
            }
            else if (!string.IsNullOrEmpty(publish.Topic))
            {
                _aliases.Add(publish.TopicAlias);
            }
            else if (!_aliases.Contains(publish.TopicAlias))
            {
                // An alias nobody set on this connection (§3.3.4): a protocol error.
                refusal = (MqttDisconnectReasonCode.ProtocolError, "topic-alias-unknown");
            }
        }

        if (refusal is null && publish.QualityOfServiceLevel == MqttQualityOfServiceLevel.ExactlyOnce)
        {
            lock (_flow)
            {
                if (!_incomingQos2.Contains(publish.PacketIdentifier))
                {
                    if (_incomingQos2.Count >= limits.MaxInflightMessages)
                    {
                        refusal = (MqttDisconnectReasonCode.ReceiveMaximumExceeded, "receive-maximum-exceeded");
                    }
                    else
                    {
                        _incomingQos2.Add(publish.PacketIdentifier);
                    }
                }
            }
        }

        if (refusal is not { } r)
        {
            return false;
        }

        events.ConnectionRefused(r.Reason, RemoteEndPoint);
        await TryDisconnectAsync(r.Code).ConfigureAwait(false);
        return true;
    }

    private Task SendPublishAsync(MqttPublishPacket publish, CancellationToken cancellationToken)
    {
        if (publish.QualityOfServiceLevel != MqttQualityOfServiceLevel.AtMostOnce)
        {
            return QueueAsync(publish, cancellationToken);
        }

        // MQTTnet copies the publisher's DUP flag [MQTT-3.3.1-3]; on QoS 0 it must be 0 [MQTT-3.3.1-2].
        publish.Dup = false;
        return Deliverable(publish) ? TransmitAsync(publish, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>
    /// QoS 1 and 2: held here while the client's window is full, so that QoS 0 messages, PUBACKs and PINGRESPs
    /// still flow, up to <see cref="BrokerLimits.MaxQueuedMessagesPerClient"/>; beyond that a new one is dropped, as
    /// MQTTnet's own queue does while the client is away.
    /// </summary>
    private Task QueueAsync(MqttPublishPacket publish, CancellationToken cancellationToken)
    {
        lock (_flow)
        {
            if (_held.Count >= limits.MaxQueuedMessagesPerClient)
            {
                Drop(publish, "subscriber-queue");
                return Task.CompletedTask;
            }

            _held.Enqueue(publish);
            if (_inflight.Count >= _window)
            {
                return Task.CompletedTask;
            }
        }

        return PumpAsync(cancellationToken);
    }

    private async Task AcknowledgedAsync(ushort packetIdentifier, CancellationToken cancellationToken)
    {
        bool more;
        lock (_flow)
        {
            more = _inflight.Remove(packetIdentifier) && _held.Count > 0;
        }

        if (more)
        {
            await PumpAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends held messages while the window has room, in order: the send lock is held from choosing to sending.</summary>
    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (NextHeld() is { } packet)
            {
                await inner.SendPacketAsync(packet, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private MqttPacket? NextHeld()
    {
        lock (_flow)
        {
            while (_held.Count > 0 && _inflight.Count < _window)
            {
                MqttPublishPacket publish = _held.Dequeue();

                DeliveryLedger.Delivery? earlier = ledger.Find(publish);
                if (earlier is { Received: true })
                {
                    // QoS 2, and the client has it: only the release is outstanding (§4.3.3, §4.4).
                    publish.PacketIdentifier = earlier.PacketIdentifier;
                    _inflight[publish.PacketIdentifier] = publish;
                    return new MqttPubRelPacket { PacketIdentifier = earlier.PacketIdentifier };
                }

                if (!Deliverable(publish))
                {
                    continue;
                }

                if (earlier is not null)
                {
                    publish.PacketIdentifier = earlier.PacketIdentifier;
                    publish.Dup = true;
                }
                else
                {
                    publish.Dup = false;
                    ledger.Record(publish);
                }

                _inflight[publish.PacketIdentifier] = publish;
                return publish;
            }

            return null;
        }
    }

    /// <summary>False, after acknowledging it to MQTTnet, for a message that has expired or is too large for the client.</summary>
    private bool Deliverable(MqttPublishPacket publish)
    {
        uint? left = ArrivalStampedProperties.Remaining(publish, time);
        if (left is null)
        {
            Drop(publish, "expired");
            return false;
        }

        publish.MessageExpiryInterval = left.Value;
        if (_clientMaximumPacketSize > 0 && Measure(publish) > _clientMaximumPacketSize)
        {
            Drop(publish, "client-maximum-packet-size");
            return false;
        }

        return true;
    }

    private void Drop(MqttPublishPacket publish, string reason)
    {
        events.Dropped(reason, Connect?.ClientId);
        MqttPacket? done = publish.QualityOfServiceLevel switch
        {
            MqttQualityOfServiceLevel.AtLeastOnce => new MqttPubAckPacket { PacketIdentifier = publish.PacketIdentifier },
            MqttQualityOfServiceLevel.ExactlyOnce => new MqttPubCompPacket { PacketIdentifier = publish.PacketIdentifier },
            _ => null,
        };
        if (done is not null)
        {
            _injected.Enqueue(done);
            Interlocked.Exchange(ref _wake, NewSignal()).TrySetResult();
        }
    }

    /// <summary>The encoded size of a packet, by MQTTnet's own encoder (a second one, so the connection's stays untouched).</summary>
    private int Measure(MqttPublishPacket publish)
    {
        lock (_measureLock)
        {
            _measure ??= new MqttPacketFormatterAdapter(MqttProtocolVersion.V500, new MqttBufferWriter(4096, 65536));
            int length = _measure.Encode(publish).Length;
            _measure.Cleanup();
            return length;
        }
    }

    /// <summary>The next packet from the client, or one made up here (an acknowledgement of a dropped message).</summary>
    private async Task<(MqttPacket? Packet, bool MadeUp)> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wake = Volatile.Read(ref _wake).Task;
            if (_injected.TryDequeue(out MqttPacket? madeUp))
            {
                return (madeUp, true);
            }

            Task<MqttPacket> read = _pendingRead ??= inner.ReceivePacketAsync(cancellationToken);
            if (!read.IsCompleted)
            {
                await Task.WhenAny(read, wake).ConfigureAwait(false);
            }

            if (read.IsCompleted)
            {
                _pendingRead = null;
                try
                {
                    return (await read.ConfigureAwait(false), false);
                }
                catch (Exception e) when (_v5 && Connect is not null && TooLarge(e))
                {
                    // §3.2.2.3.6 and §4.13: say why before the connection closes.
                    await TryDisconnectAsync(MqttDisconnectReasonCode.PacketTooLarge).ConfigureAwait(false);
                    throw;
                }
            }
        }
    }

    private static bool TooLarge(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is MqttFrameViolationException { Violation: FrameViolation.PacketTooLarge })
            {
                return true;
            }
        }

        return false;
    }

    private async Task TryDisconnectAsync(MqttDisconnectReasonCode reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await TransmitAsync(new MqttDisconnectPacket { ReasonCode = reason }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or MqttCommunicationException or IOException or ObjectDisposedException)
        {
            // The client is not reading or already gone; the connection closes either way.
            events.ConnectionRefused("connection-error", RemoteEndPoint);
        }
    }

    private async Task TransmitAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await inner.SendPacketAsync(packet, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        sessions.Closed(this);
        inner.Dispose();
        _sendLock.Dispose();
        _finished.TrySetResult();
    }

    /// <summary>A broker-assigned id: its prefix is reserved, so no client can choose one (EmbeddedBroker refuses it).</summary>
    internal static string AnonymousClientId() => $"{ReservedPrefix}{Guid.NewGuid():N}";

    internal const string ReservedPrefix = "sensorkit-anon-";
}
