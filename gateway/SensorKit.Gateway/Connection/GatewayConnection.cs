using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.Storage;
using SensorKit.Gateway.Storage.Group;
using SensorKit.Gateway.Health;
using SensorKit.Mqtt;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Connection;

/// <summary>
/// The gateway's MQTT client: publishes alerts and, on an external broker, subscribes to node telemetry and status
/// and feeds the <see cref="IBrokerIntake"/> (the embedded broker feeds it directly). <see cref="MqttConnectionLoop"/>
/// reconnects with backoff; alerts wait in the <see cref="IMqttOutbound"/> queue meanwhile. A member of a gateway
/// group takes node messages through its <see cref="SiteSessions"/> instead, and publishes only for the sites it
/// holds (<see cref="ISiteOwnership"/>).
/// </summary>
public sealed partial class GatewayConnection(
    IOptions<BrokerOptions> options,
    EmbeddedBroker broker,
    BrokerAuthorization authorization,
    IBrokerIntake ingest,
    IMqttOutbound alerts,
    IOptions<GroupOptions> group,
    ISiteOwnership ownership,
    TimeProvider time,
    ILogger<GatewayConnection> logger) : BackgroundService, IMqttWorker
{
    /// <summary>The first wait after a failed attempt; it doubles per failure up to Broker:ReconnectMax.</summary>
    private static readonly TimeSpan ReconnectMin = TimeSpan.FromMilliseconds(250);

    private readonly BrokerOptions _options = options.Value;
    private readonly string? _member = group.Value.Member;
    private readonly MqttConnectionLoop _connection = new(new ReconnectBackoff(ReconnectMin, options.Value.ReconnectMax), time);
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the gateway is connected and subscribed.</summary>
    public Task Ready => _subscribed.Task;

    /// <summary>Whether the alert connection is up now: a group member takes part in the group only while it is.</summary>
    public bool IsConnected => _connection.IsConnected;

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

    ValueTask<MqttConnectPlan> IMqttWorker.PlanAsync(CancellationToken ct)
    {
        if (_options.Mode == BrokerMode.External)
        {
            // A group member's own id: its alert connection must not take over another member's session.
            return ExternalBrokerPlan.CreateAsync(_options, _member is null ? _options.ClientId : $"{_options.ClientId}-{_member}", ct);
        }

        System.Net.IPAddress ip = BrokerOptions.ParseAddress(_options.Address)!;
        string host = ip.Equals(System.Net.IPAddress.Any) || ip.Equals(System.Net.IPAddress.IPv6Any) ? "127.0.0.1" : ip.ToString();
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, _options.Port)
            // Random per start, and the only sensorkit-gateway id the embedded broker accepts, so nobody can guess it
            // to take the session over.
            .WithClientId(authorization.InternalClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithSessionExpiryInterval(0)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (broker.InternalAccount is { } account)
        {
            builder.WithCredentials(account.Username, account.Password);
        }

        return ValueTask.FromResult(new MqttConnectPlan(host, _options.Port, builder.Build()));
    }

    async Task IMqttWorker.OnConnectedAsync(MqttConnectPlan plan, CancellationToken ct)
    {
        bool embedded = _options.Mode == BrokerMode.Embedded;
        if (!embedded && _member is null)
        {
            var subscribe = new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(Topics.AllTelemetryFilter, MqttQualityOfServiceLevel.AtLeastOnce)
                .WithTopicFilter(Topics.AllStatusFilter, MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            await Client.SubscribeAsync(subscribe, ct);
        }

        LogConnected(plan.Host, plan.Port, embedded ? "node messages are taken inside the embedded broker" : _member is null ? "subscribed to node topics" : $"group member {_member}, node messages come through the sessions of the sites it holds");
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
                if (!ownership.TryGetToken(message.Site, out _))
                {
                    // The lease ran out while this waited: the step is stored unsent, and the site's next holder sends it.
                    alerts.Outgoing.TryRead(out _);
                    GatewayMetrics.FencedPublishes.Add(1);
                    continue;
                }

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
