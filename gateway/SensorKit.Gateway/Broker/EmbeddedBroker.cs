using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;
using SensorKit.Gateway.Broker.Transport;
using SensorKit.Gateway.Health;
using SensorKit.Hosting;

namespace SensorKit.Gateway.Broker;

/// <summary>
/// MQTTnet's broker, in-process, hardened for a network where every byte is hostile: its own listeners bound every
/// connection and packet before MQTTnet allocates anything (<see cref="GuardedTcpServerAdapter"/>), PUBLISH topics
/// are checked as the specification requires, and node messages go to the intake inside the PUBLISH handling, so
/// the PUBACK means "evaluated" (docs/intake.md). Alerts still leave through the gateway's own MQTT client.
/// </summary>
public sealed partial class EmbeddedBroker(IOptions<BrokerOptions> options, IBrokerIntake intake, TimeProvider time, ILogger<EmbeddedBroker> logger)
    : IHostedService, IDisposable, ITransportEvents
{
    private readonly BrokerOptions _options = options.Value;
    private readonly LogLimiter _logLimit = new(time, TimeSpan.FromMinutes(1), burst: 5);
    private MqttServer? _server;
    private GuardedTcpServerAdapter? _transport;
    private Dictionary<string, string> _accounts = [];

    /// <summary>The gateway's own client id: random per start, so no other client can guess it and take its session over.</summary>
    public string InternalClientId { get; } = $"{GatewayClientPrefix}{Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant()}";

    /// <summary>Client ids with this prefix belong to gateways; the embedded broker lets only its own use one.</summary>
    public const string GatewayClientPrefix = "sensorkit-gateway-";

    /// <summary>Connections open right now.</summary>
    public int OpenConnections => _transport?.OpenConnections ?? 0;

    /// <summary>The gateway's own account when accounts are required: random per start, never written anywhere.</summary>
    public (string Username, string Password)? InternalAccount { get; private set; }

    public bool IsRunning => _server?.IsStarted ?? false;

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
            .WithMaxPendingMessagesPerClient(limits.MaxQueuedMessagesPerClient)
            .WithPendingMessagesOverflowStrategy(MqttPendingMessagesOverflowStrategy.DropOldestQueuedMessage);
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

        _transport = new GuardedTcpServerAdapter(limits, this);
        _server = new MqttServerFactory().CreateMqttServer(builder.Build(), [_transport]);
        if (_options.Users.Count > 0)
        {
            _accounts = _options.Users.ToDictionary(
                u => u.Username,
                u => File.ReadAllText(u.PasswordFile).TrimEnd('\r', '\n'),
                StringComparer.Ordinal);
            string internalPassword = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
            InternalAccount = ("sensorkit-gateway-internal", internalPassword);
            _accounts[InternalAccount.Value.Username] = internalPassword;
        }

        _server.ValidatingConnectionAsync += ValidateAsync;
        _server.InterceptingPublishAsync += InterceptPublishAsync;
        _server.ApplicationMessageEnqueuedOrDroppedAsync += e =>
        {
            if (e.IsDropped)
            {
                GatewayMetrics.Dropped.Add(1, new KeyValuePair<string, object?>("where", "subscriber-queue"));
            }

            return Task.CompletedTask;
        };
        _server.QueuedApplicationMessageOverwrittenAsync += e =>
        {
            GatewayMetrics.Dropped.Add(1, new KeyValuePair<string, object?>("where", "subscriber-queue"));
            Refused("queue-full", $"client {Clip(e.ReceiverClientId)} is not reading: its oldest queued message was dropped");
            return Task.CompletedTask;
        };

        await _server.StartAsync();
        LogStarted(_options.Address, _options.Port, _options.Users.Count > 0 ? "accounts required" : "anonymous, loopback only");
    }

    private Task ValidateAsync(ValidatingConnectionEventArgs e)
    {
        // MQTT 5.0 §3.1.3.1: a client may send an empty id and the server assigns one (mosquitto_sub does). Under
        // 3.1.1 (§3.1.3-6) GuardedChannelAdapter has assigned one already.
        bool assigned = e.ChannelAdapter is GuardedChannelAdapter { AssignedClientId: { } id } && id == e.ClientId;
        if (string.IsNullOrEmpty(e.ClientId))
        {
            e.AssignedClientIdentifier = GuardedChannelAdapter.AnonymousClientId();
            assigned = true;
        }

        if (!assigned && ClientIdProblem(e.ClientId) is { } problem)
        {
            e.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            Refused("client-id", $"client id '{Clip(e.ClientId)}' from {e.RemoteEndPoint}: {problem}");
            return Task.CompletedTask;
        }

        if (_accounts.Count == 0)
        {
            return Task.CompletedTask;
        }

        bool ok = e.UserName is not null
            && _accounts.TryGetValue(e.UserName, out string? expected)
            && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(expected), System.Text.Encoding.UTF8.GetBytes(e.Password ?? string.Empty));
        if (!ok)
        {
            e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            Refused("bad-credentials", $"client '{Clip(e.ClientId)}' (user '{Clip(e.UserName ?? "(none)")}') from {e.RemoteEndPoint}: bad user name or password");
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Why a client id is refused: MQTTnet decodes invalid UTF-8 to U+FFFD rather than refusing it (MQTT 5.0 §1.5.4
    /// [MQTT-1.5.4-1] requires refusal), and the prefixes the broker assigns or the gateway uses are reserved.
    /// </summary>
    private string? ClientIdProblem(string clientId)
    {
        if (clientId.Length > 128)
        {
            return "longer than 128 characters";
        }

        if (clientId.Contains('\uFFFD', StringComparison.Ordinal) || clientId.Any(char.IsControl) || clientId.Any(char.IsSurrogate))
        {
            return "not valid UTF-8, or contains control characters";
        }

        if (clientId.StartsWith(GuardedChannelAdapter.ReservedPrefix, StringComparison.Ordinal))
        {
            return $"the prefix '{GuardedChannelAdapter.ReservedPrefix}' is reserved for ids the broker assigns";
        }

        if (clientId.StartsWith(GatewayClientPrefix, StringComparison.Ordinal) && clientId != InternalClientId)
        {
            return $"the prefix '{GatewayClientPrefix}' is reserved for the gateway's own client";
        }

        return null;
    }

    /// <summary>
    /// Every PUBLISH, before routing: the topic is checked (MQTT 5.0 §4.7.3: no wildcards, no NUL [MQTT-4.7.3-2],
    /// valid UTF-8), and node messages go through the intake first, so the publisher's PUBACK reports the verdict.
    /// </summary>
    private Task InterceptPublishAsync(InterceptingPublishEventArgs e)
    {
        long received = Stopwatch.GetTimestamp();
        string topic = e.ApplicationMessage.Topic;
        if (TopicProblem(topic) is { } problem)
        {
            e.ProcessPublish = false;
            e.CloseConnection = true;
            e.Response.ReasonCode = MqttPubAckReasonCode.TopicNameInvalid;
            Refused("invalid-topic", $"client '{Clip(e.ClientId)}' published on '{Clip(topic)}': {problem}; connection closed");
            return Task.CompletedTask;
        }

        if (e.ClientId == InternalClientId || !intake.Wants(topic))
        {
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

    private void Refused(string reason, string detail)
    {
        GatewayMetrics.BrokerRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        if (_logLimit.TryEnter(reason, out long suppressed))
        {
            LogRefusedPacket(reason, detail, suppressed);
        }
    }

    private static string Clip(string s) => s.Length <= 120 ? s : string.Concat(s.AsSpan(0, 120), "...");

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { IsStarted: true })
        {
            await _server.StopAsync();
        }
    }

    public void Dispose() => _server?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded MQTT broker listening on {Address}:{Port} ({Access})")]
    private partial void LogStarted(string address, int port, string access);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker refused ({Reason}): {Detail}; {Suppressed} more of this kind without a log line since the last one (counted in sensorkit_gateway_broker_refused_total)")]
    private partial void LogRefusedPacket(string reason, string detail, long suppressed);
}
