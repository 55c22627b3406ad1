using System.Buffers;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;
using SensorKit.Gateway.Broker.Transport;
using SensorKit.Gateway.Health;
using SensorKit.Hosting;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Broker;

/// <summary>
/// MQTTnet's broker, in-process, hardened for a network where every byte is hostile: its own listeners bound every
/// connection and packet before MQTTnet allocates anything (<see cref="GuardedTcpServerAdapter"/>), PUBLISH topics
/// are checked as the specification requires, and node messages go to the intake inside the PUBLISH handling, so
/// the PUBACK means "evaluated" (docs/intake.md). Alerts still leave through the gateway's own MQTT client.
/// Sessions outlive their connection as the client asks (<see cref="BrokerSessions"/>), in memory only; the rest of
/// the MQTT 5 flow control MQTTnet lacks is done in <see cref="GuardedChannelAdapter"/> (docs/intake.md, "Sessions").
/// </summary>
public sealed partial class EmbeddedBroker(IOptions<BrokerOptions> options, BrokerAuthorization authorization, IBrokerIntake intake, TimeProvider time, ILogger<EmbeddedBroker> logger)
    : IHostedService, IDisposable, ITransportEvents, IGatewayPublisher
{
    private readonly BrokerOptions _options = options.Value;
    private readonly LogLimiter _logLimit = new(time, TimeSpan.FromMinutes(1), burst: 5);
    private readonly DeliveryLedger _ledger = new();
    private BrokerSessions? _sessions;
    private MqttServer? _server;
    private GuardedTcpServerAdapter? _transport;
    private CancellationTokenSource? _stopping;
    private Task? _sweeper;

    /// <summary>Connections open right now.</summary>
    public int OpenConnections => _transport?.OpenConnections ?? 0;

    /// <summary>The gateway's own account: random per start, never written anywhere.</summary>
    public (string Username, string Password)? InternalAccount => authorization.InternalAccount;

    public bool IsRunning => _server?.IsStarted ?? false;

    /// <summary>Publishes as the gateway's internal client, through the same checks as any client's publish; false when the broker is not running.</summary>
    public async Task<bool> PublishAsGatewayAsync(MqttApplicationMessage message, CancellationToken ct)
    {
        if (_server is not { IsStarted: true } server)
        {
            return false;
        }

        await server.InjectApplicationMessage(
            new InjectedMqttApplicationMessage(message) { SenderClientId = authorization.InternalClientId, SenderUserName = BrokerAuthorization.InternalAccountName }, ct);
        return true;
    }

    /// <summary>The client ids of the sessions MQTTnet holds right now, connected or away.</summary>
    public async Task<IReadOnlyList<string>> SessionIdsAsync() =>
        _server is null ? [] : (await _server.GetSessionsAsync()).Select(s => s.Id).ToList();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Mode != BrokerMode.Embedded)
        {
            return;
        }

        IPAddress ip = BrokerOptions.ParseAddress(_options.Address)!;
        BrokerLimits limits = _options.Limits;
        var builder = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointPort(_options.Port)
            // The CONNECT must arrive within this; MQTTnet's default is 100 s, long enough to hold many sockets open.
            .WithDefaultCommunicationTimeout(limits.ConnectTimeout)
            // Sessions outlive their connection as the client asks; BrokerSessions decides for how long.
            .WithPersistentSessions()
            .WithMaxPendingMessagesPerClient(limits.MaxQueuedMessagesPerClient)
            // Not the oldest: MQTTnet would keep a dropped QoS 1 message in the session's unacknowledged list forever.
            .WithPendingMessagesOverflowStrategy(MqttPendingMessagesOverflowStrategy.DropNewMessage);
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            builder.WithDefaultEndpointBoundIPAddress(IPAddress.None).WithDefaultEndpointBoundIPV6Address(ip);
        }
        else
        {
            // MQTTnet binds every interface unless told otherwise; keep IPv6 to loopback when IPv4 is.
            builder.WithDefaultEndpointBoundIPAddress(ip)
                .WithDefaultEndpointBoundIPV6Address(IPAddress.IsLoopback(ip) ? IPAddress.IPv6Loopback : IPAddress.IPv6Any);
        }

        BrokerTls.AddEncryptedEndpoint(builder, _options);
        _sessions = new BrokerSessions(limits, time, DeleteSessionAsync);
        _transport = new GuardedTcpServerAdapter(limits, this, _sessions, _ledger, time);
        _server = new MqttServerFactory().CreateMqttServer(builder.Build(), [_transport]);

        // In order: the topic's form (a protocol error closes the connection), then accounts and topic rights
        // (BrokerAuthorization), then the intake, which leaves alone a message either of them refused.
        authorization.Start();
        _server.ValidatingConnectionAsync += ValidateAsync;
        _server.InterceptingPublishAsync += ValidateTopicAsync;
        _server.InterceptingPublishAsync += authorization.InterceptPublishAsync;
        _server.InterceptingPublishAsync += InterceptPublishAsync;
        _server.InterceptingPublishAsync += StampAsync;
        _server.InterceptingSubscriptionAsync += authorization.InterceptSubscriptionAsync;
        _server.ClientDisconnectedAsync += authorization.ClientDisconnectedAsync;
        _server.ApplicationMessageEnqueuedOrDroppedAsync += e =>
        {
            if (e.IsDropped)
            {
                GatewayMetrics.Dropped.Add(1, new KeyValuePair<string, object?>("where", "subscriber-queue"));
                Refused("queue-full", $"client {Clip(e.ReceiverClientId)} is not reading or is away: {limits.MaxQueuedMessagesPerClient} messages wait for it, a new one was dropped");
            }

            return Task.CompletedTask;
        };

        try
        {
            await _server.StartAsync();
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new GatewayConfigurationException($"{BrokerOptions.Section}:Port: cannot listen on {_options.Address}:{_options.Port}: {e.Message}", e);
        }

        _stopping = new CancellationTokenSource();
        _sweeper = SweepAsync(_stopping.Token);
        LogStarted(_options.Address, _options.Port, _options.Tls.Enabled ? $"TLS on {_options.Tls.Address ?? _options.Address}:{_options.Tls.Port}" : "no TLS",
            authorization.Registry.Accounts.Count);
    }

    /// <summary>
    /// The client id's form first (MQTTnet decodes invalid UTF-8 to U+FFFD rather than refusing it), then the
    /// account, its password and its binding to the client id (BrokerAuthorization).
    /// </summary>
    private async Task ValidateAsync(ValidatingConnectionEventArgs e)
    {
        // An MQTT 3.1.1 client that sent no id got one from GuardedChannelAdapter (§3.1.3-6): it counts as none.
        bool assigned = e.ChannelAdapter is GuardedChannelAdapter { AssignedClientId: { } id } && id == e.ClientId;
        if (!assigned && !string.IsNullOrEmpty(e.ClientId) && ClientIdProblem(e.ClientId) is { } problem)
        {
            e.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            Refused("client-id", $"client id '{Clip(e.ClientId)}' from {e.RemoteEndPoint}: {problem}");
            return;
        }

        await authorization.ValidateConnectionAsync(e, assignedByTransport: assigned);
        if (e.ReasonCode != MqttConnectReasonCode.Success || e.ChannelAdapter is not GuardedChannelAdapter { Connect: { } connect } connection)
        {
            return;
        }

        // MQTTnet takes an MQTT 5 client's assigned id only after this event (§3.2.2.3.7).
        string clientId = string.IsNullOrEmpty(e.ClientId) ? e.AssignedClientIdentifier : e.ClientId;
        bool v5 = e.ProtocolVersion == MqttProtocolVersion.V500;
        if (await _sessions!.OpenAsync(connection, connect, clientId, NullIfEmpty(e.UserName), v5) != MqttConnectReasonCode.Success)
        {
            // MQTT 3.1.1 has no quota code; 0x03 Server unavailable is the nearest.
            e.ReasonCode = v5 ? MqttConnectReasonCode.QuotaExceeded : MqttConnectReasonCode.ServerUnavailable;
            Refused("too-many-sessions", $"client '{Clip(clientId)}' from {e.RemoteEndPoint} asked for a session to be kept, and {_options.Limits.MaxSessions} are (Broker:Limits:MaxSessions)");
        }
    }

    /// <summary>Deletes a session from MQTTnet, with its subscriptions and queue; one that is gone already is no error.</summary>
    private async Task DeleteSessionAsync(string clientId)
    {
        if (_server is null)
        {
            return;
        }

        MqttSessionStatus session;
        try
        {
            session = await _server.GetSessionAsync(clientId);
        }
        catch (InvalidOperationException)
        {
            // MQTTnet deleted it when its connection ended (a session that ended with its connection).
            return;
        }

        await session.DeleteAsync();
    }

    /// <summary>Once a second: sessions whose expiry passed while their client was away give their memory back.</summary>
    private async Task SweepAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    await _sessions!.SweepAsync();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    GatewayMetrics.BackgroundFailures.Add(1, new KeyValuePair<string, object?>("work", "broker-session-expiry"));
                    if (_logLimit.TryEnter("session-expiry", out long suppressed))
                    {
                        LogSweepFailed(e.Message, suppressed);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// Why a client id's form is refused: MQTT 5.0 §1.5.4 [MQTT-1.5.4-1] requires refusing invalid UTF-8, and
    /// control characters have no place in an id that ends up in logs. Reserved prefixes are BrokerAuthorization's.
    /// </summary>
    private static string? ClientIdProblem(string clientId)
    {
        if (clientId.Length > 128)
        {
            return "longer than 128 characters";
        }

        if (clientId.Contains('\uFFFD', StringComparison.Ordinal) || clientId.Any(char.IsControl) || clientId.Any(char.IsSurrogate))
        {
            return "not valid UTF-8, or contains control characters";
        }

        return null;
    }

    /// <summary>
    /// Every PUBLISH, before routing: the topic is checked (MQTT 5.0 §4.7.3: no wildcards, no NUL [MQTT-4.7.3-2],
    /// valid UTF-8), and node messages go through the intake first, so the publisher's PUBACK reports the verdict.
    /// </summary>
    private Task ValidateTopicAsync(InterceptingPublishEventArgs e)
    {
        string topic = e.ApplicationMessage.Topic;
        if (TopicProblem(topic) is { } problem)
        {
            e.ProcessPublish = false;
            e.CloseConnection = true;
            e.Response.ReasonCode = MqttPubAckReasonCode.TopicNameInvalid;
            Refused("invalid-topic", $"client '{Clip(e.ClientId)}' published on '{Clip(topic)}': {problem}; connection closed");
        }

        return Task.CompletedTask;
    }

    /// <summary>Last: a message that will be routed learns its arrival time, for its expiry (ArrivalStampedProperties).</summary>
    private Task StampAsync(InterceptingPublishEventArgs e)
    {
        if (e.ProcessPublish)
        {
            ArrivalStampedProperties.Stamp(e.ApplicationMessage, time);
        }

        return Task.CompletedTask;
    }

    private Task InterceptPublishAsync(InterceptingPublishEventArgs e)
    {
        if (!e.ProcessPublish)
        {
            // Refused already: a bad topic, or not this account's to publish.
            return Task.CompletedTask;
        }

        long received = Stopwatch.GetTimestamp();
        string topic = e.ApplicationMessage.Topic;

        // Only a node's own topics (telemetry, status) go to the intake; the topic is parsed once here.
        if (e.ClientId == authorization.InternalClientId || !Topics.TryParseNode(topic, out string site, out string node))
        {
            return Task.CompletedTask;
        }

        // Second line behind the topic rights: a node's messages are taken only from that node's own account.
        if (!authorization.OwnsNode(NullIfEmpty(e.UserName), site, node))
        {
            e.ProcessPublish = false;
            e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            Refused("not-owner", $"client '{Clip(e.ClientId)}' (account '{Clip(e.UserName ?? "(anonymous)")}') published for {site}/{node}");
            return Task.CompletedTask;
        }

        if (!intake.Ready.IsCompleted)
        {
            // Start-up: hold the publish (and so its PUBACK) until the stored state is loaded, rather than lose it.
            return TakeWhenReadyAsync(e, received);
        }

        Take(e, received);
        return Task.CompletedTask;
    }

    private async Task TakeWhenReadyAsync(InterceptingPublishEventArgs e, long received)
    {
        await intake.Ready.WaitAsync(e.CancellationToken);
        Take(e, received);
    }

    private void Take(InterceptingPublishEventArgs e, long received)
    {
        ReadOnlySequence<byte> payload = e.ApplicationMessage.Payload;
        IntakeVerdict verdict = intake.Take(e.ApplicationMessage.Topic, payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray(), e.ClientId, e.UserName, received);
        switch (verdict)
        {
            case IntakeVerdict.Rejected:
                e.ProcessPublish = false;
                e.Response.ReasonCode = MqttPubAckReasonCode.PayloadFormatInvalid;
                break;
            case IntakeVerdict.NotAuthorized:
                e.ProcessPublish = false;
                e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
                break;
        }
    }

    private static string? TopicProblem(string topic)
    {
        if (topic.Length == 0)
        {
            // Empty topics are valid only with a topic alias, which MQTTnet resolves before this point.
            return "empty topic";
        }

        foreach (char c in topic)
        {
            switch (c)
            {
                case '#' or '+':
                    return "wildcards are not allowed in a topic name";
                case '\0':
                    return "NUL is not allowed in a topic name";
                case '\uFFFD':
                    return "not valid UTF-8";
            }
        }

        return null;
    }

    void ITransportEvents.ConnectionRefused(string reason, EndPoint? remote)
    {
        Refused(reason, $"connection from {remote} closed");
    }

    void ITransportEvents.FrameViolation(MqttFrameViolationException violation, EndPoint? remote)
    {
        string reason = violation.Violation switch
        {
            FrameViolation.PacketTooLarge => "packet-too-large",
            FrameViolation.MalformedLength => "malformed-length",
            FrameViolation.NotConnectFirst => "not-connect-first",
            _ => "invalid-connect-flags",
        };
        Refused(reason, $"connection from {remote} closed: {violation.Message}");
    }

    void ITransportEvents.Dropped(string reason, string? clientId)
    {
        GatewayMetrics.Dropped.Add(1, new KeyValuePair<string, object?>("where", reason));
        if (reason == "subscriber-queue")
        {
            Refused("queue-full", $"client {Clip(clientId ?? "?")} is not acknowledging: {_options.Limits.MaxQueuedMessagesPerClient} messages wait for it, a new one was dropped");
        }
    }

    private void Refused(string reason, string detail)
    {
        GatewayMetrics.BrokerRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        if (_logLimit.TryEnter(reason, out long suppressed))
        {
            LogRefusedPacket(reason, detail, suppressed);
        }
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static string Clip(string s) => s.Length <= 120 ? s : string.Concat(s.AsSpan(0, 120), "...");

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is not null)
        {
            await _stopping.CancelAsync();
            await _sweeper!;
        }

        if (_server is { IsStarted: true })
        {
            await _server.StopAsync();
        }
    }

    public void Dispose()
    {
        _stopping?.Dispose();
        _server?.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded MQTT broker listening on {Address}:{Port} ({Tls}); {Accounts} accounts, anonymous clients read-only from loopback")]
    private partial void LogStarted(string address, int port, string tls, int accounts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Broker sessions past their expiry not deleted, tried again in a second: {Reason}; {Suppressed} more failures without a log line")]
    private partial void LogSweepFailed(string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker refused ({Reason}): {Detail}; {Suppressed} more of this kind without a log line since the last one (counted in sensorkit_gateway_broker_refused_total)")]
    private partial void LogRefusedPacket(string reason, string detail, long suppressed);
}
