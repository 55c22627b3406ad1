using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SensorKit.Gateway.Broker;
using SensorKit.Mqtt;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Connection;

/// <summary>
/// The gateway's MQTT client: publishes alerts and, on an external broker, subscribes to node telemetry and status
/// and feeds the <see cref="IBrokerIntake"/> (the embedded broker feeds it directly). <see cref="MqttConnectionLoop"/>
/// reconnects with backoff; alerts wait in the <see cref="IMqttOutbound"/> queue meanwhile.
/// </summary>
public sealed partial class GatewayConnection(
    IOptions<BrokerOptions> options,
    EmbeddedBroker broker,
    BrokerAuthorization authorization,
    IBrokerIntake ingest,
    IMqttOutbound alerts,
    TimeProvider time,
    ILogger<GatewayConnection> logger) : BackgroundService, IMqttWorker
{
    /// <summary>The first wait after a failed attempt; it doubles per failure up to Broker:ReconnectMax.</summary>
    private static readonly TimeSpan ReconnectMin = TimeSpan.FromMilliseconds(250);

    private readonly BrokerOptions _options = options.Value;
    private readonly MqttConnectionLoop _connection = new(new ReconnectBackoff(ReconnectMin, options.Value.ReconnectMax), time);
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the gateway is connected and subscribed.</summary>
    public Task Ready => _subscribed.Task;

    private IMqttClient Client => _connection.Client;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Client.ApplicationMessageReceivedAsync += e =>
        {
            // External broker only: the embedded one hands node messages to the intake itself. Handle() isolates each
            // message, and MQTTnet sends the PUBACK after this returns, so what the broker queued for the gateway
            // stays the broker's until it has been evaluated.
            long received = System.Diagnostics.Stopwatch.GetTimestamp();
            System.Buffers.ReadOnlySequence<byte> payload = e.ApplicationMessage.Payload;
            ingest.Handle(e.ApplicationMessage.Topic, payload.IsSingleSegment ? payload.FirstSpan : System.Buffers.BuffersExtensions.ToArray(payload), received);
            return Task.CompletedTask;
        };
        Client.DisconnectedAsync += e =>
        {
            if (e.ClientWasConnected && e.Reason != MqttClientDisconnectReason.NormalDisconnection)
            {
                // A takeover (another client with the gateway's id) must be loud: alerts stop while it lasts.
                LogLost(e.Reason == MqttClientDisconnectReason.SessionTakenOver
                    ? "the broker handed the gateway's session to another client with the same client id (session taken over)"
                    : $"{e.Reason} {e.ReasonString}");
            }

            return Task.CompletedTask;
        };

        await _connection.RunAsync(this, stoppingToken);
    }

    async ValueTask<MqttConnectPlan> IMqttWorker.PlanAsync(CancellationToken ct)
    {
        string host;
        int port;
        string? user = null;
        string? password = null;
        bool tls = false;
        if (_options.Mode == BrokerMode.Embedded)
        {
            System.Net.IPAddress ip = BrokerOptions.ParseAddress(_options.Address)!;
            host = ip.Equals(System.Net.IPAddress.Any) || ip.Equals(System.Net.IPAddress.IPv6Any) ? "127.0.0.1" : ip.ToString();
            port = _options.Port;
            if (broker.InternalAccount is { } account)
            {
                (user, password) = account;
            }
        }
        else
        {
            var uri = new Uri(_options.Uri!);
            host = uri.Host;
            tls = uri.Scheme == "mqtts";
            port = uri.IsDefaultPort || uri.Port <= 0 ? (tls ? 8883 : 1883) : uri.Port;
            user = _options.Username;
            password = _options.PasswordFile is null ? null : (await File.ReadAllTextAsync(_options.PasswordFile, ct)).TrimEnd('\r', '\n');
        }

        bool embedded = _options.Mode == BrokerMode.Embedded;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            // Embedded: random per start, and the only sensorkit-gateway id the embedded broker accepts, so nobody can
            // guess it to take the session over. External: a fixed id, so the broker keeps the persistent session.
            .WithClientId(embedded ? authorization.InternalClientId : _options.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            // External: a persistent session, so the broker queues node messages while the gateway restarts.
            .WithCleanStart(embedded)
            .WithSessionExpiryInterval(embedded ? 0 : (uint)_options.SessionExpiry.TotalSeconds)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (tls)
        {
            builder.WithTlsOptions(o => o.UseTls());
        }

        if (user is not null)
        {
            builder.WithCredentials(user, password ?? string.Empty);
        }

        return new MqttConnectPlan(host, port, builder.Build());
    }

    async Task IMqttWorker.OnConnectedAsync(MqttConnectPlan plan, CancellationToken ct)
    {
        bool embedded = _options.Mode == BrokerMode.Embedded;
        if (!embedded)
        {
            var subscribe = new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(Topics.AllTelemetryFilter, MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter(Topics.AllStatusFilter, MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            await Client.SubscribeAsync(subscribe, ct);
        }

        LogConnected(plan.Host, plan.Port, embedded ? "node messages are taken inside the embedded broker" : "subscribed to node topics");
        _subscribed.TrySetResult();
    }

    async Task IMqttWorker.RunAsync(CancellationToken ct)
    {
        while (Client.IsConnected)
        {
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
            poll.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                // Wake at least once a second to notice a dropped connection.
                if (!await alerts.Outgoing.WaitToReadAsync(poll.Token))
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                continue;
            }

            while (Client.IsConnected && alerts.Outgoing.TryPeek(out OutgoingAlert? message))
            {
                await Client.PublishAsync(message.Message, ct);
                alerts.Outgoing.TryRead(out _);
                alerts.OnSent(message);
            }
        }
    }

    void IMqttWorker.OnConnectFailed(MqttConnectPlan plan, string reason) => LogConnectFailed(plan.Host, plan.Port, reason);

    void IMqttWorker.OnConnectionLost(string reason) => LogLost(reason);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (Client.IsConnected)
        {
            try
            {
                await Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), cancellationToken);
            }
            catch (MqttCommunicationException e)
            {
                LogLost(e.Message);
            }
        }
    }

    public override void Dispose()
    {
        _connection.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway connected to MQTT broker {Host}:{Port}; {Intake}")]
    private partial void LogConnected(string host, int port, string intake);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway cannot connect to MQTT broker {Host}:{Port}: {Reason}; retrying with backoff")]
    private partial void LogConnectFailed(string host, int port, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway lost the MQTT connection: {Reason}")]
    private partial void LogLost(string reason);
}
