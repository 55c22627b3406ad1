using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sampling;
using SensorKit.Protocol;

namespace SensorKit.Node.Publishing;

/// <summary>
/// Owns the node's MQTT connection (MQTTnet 5 has no managed client): connects with exponential
/// backoff and jitter, announces the node with a retained "online" status and a will that says
/// "lost", drains the outbox at QoS 1 and removes a message only after its PUBACK.
/// On a clean stop it publishes "offline" itself, because a broker discards the will on a normal
/// disconnect (MQTT 5.0 §3.14.4), and MQTTnet's broker ignores "disconnect with will" too.
/// </summary>
public sealed partial class MqttPublisher(
    IOptions<MqttOptions> mqttOptions,
    IOptions<NodeOptions> nodeOptions,
    IOutbox outbox,
    NodeStatusSource status,
    SensorRegistry sensors,
    TimeProvider time,
    ILogger<MqttPublisher> logger) : BackgroundService
{
    private static readonly TimeSpan DrainOnStop = TimeSpan.FromSeconds(3);

    private readonly MqttOptions _mqtt = mqttOptions.Value;
    private readonly NodeOptions _node = nodeOptions.Value;
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly PayloadBuffer _buffer = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private volatile bool _statusDirty = true;
    private string? _lastConnectError;

    public bool IsConnected => _client.IsConnected;

    /// <summary>Messages the broker refused (a reason code other than success), dropped after logging.</summary>
    public long Rejected { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        CancellationToken ct = stoppingToken;
        sensors.HealthChanged += OnHealthChanged;
        _client.DisconnectedAsync += _ =>
        {
            _wake.Release();
            return Task.CompletedTask;
        };

        int attempt = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (!_client.IsConnected)
                {
                    if (!await TryConnectAsync(ct))
                    {
                        await Task.Delay(Backoff(attempt++), time, ct);
                        continue;
                    }

                    attempt = 0;
                    _statusDirty = true;
                }

                try
                {
                    await PumpAsync(ct);
                }
                catch (Exception e) when (e is MqttCommunicationException or MqttClientNotConnectedException or MqttClientDisconnectedException)
                {
                    LogConnectionLost(e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutdown; StopAsync says goodbye.
        }
        finally
        {
            sensors.HealthChanged -= OnHealthChanged;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!_client.IsConnected)
        {
            return;
        }

        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(DrainOnStop);
        try
        {
            while (outbox.TryPeek(out OutboxMessage m) && !drain.IsCancellationRequested)
            {
                await PublishQueuedAsync(m, drain.Token);
            }

            await PublishStatusAsync(NodeState.Offline, drain.Token);
            await _client.DisconnectAsync(
                new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(),
                drain.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or MqttCommunicationException or MqttClientNotConnectedException)
        {
            LogStopIncomplete(e.Message, outbox.Count);
        }
    }

    private void OnHealthChanged()
    {
        _statusDirty = true;
        _wake.Release();
    }

    private async Task PumpAsync(CancellationToken ct)
    {
        DateTimeOffset nextStatus = time.GetUtcNow();
        while (_client.IsConnected && !ct.IsCancellationRequested)
        {
            if (_statusDirty || time.GetUtcNow() >= nextStatus)
            {
                _statusDirty = false;
                await PublishStatusAsync(NodeState.Online, ct);
                nextStatus = time.GetUtcNow() + _node.StatusInterval;
            }

            if (outbox.TryPeek(out OutboxMessage message))
            {
                await PublishQueuedAsync(message, ct);
                continue;
            }

            TimeSpan untilStatus = nextStatus - time.GetUtcNow();
            if (untilStatus <= TimeSpan.Zero)
            {
                continue;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task outboxReady = outbox.WaitAsync(wait.Token).AsTask();
            Task woken = _wake.WaitAsync(wait.Token);
            Task statusDue = Task.Delay(untilStatus, time, wait.Token);
            await Task.WhenAny(outboxReady, woken, statusDue);
            await wait.CancelAsync();
            await Task.WhenAll(outboxReady, woken, statusDue).ContinueWith(static _ => { }, TaskScheduler.Default);
            ct.ThrowIfCancellationRequested();
        }
    }

    private async Task PublishQueuedAsync(OutboxMessage m, CancellationToken ct)
    {
        MqttApplicationMessage message = new MqttApplicationMessageBuilder()
            .WithTopic(m.Topic)
            .WithPayload(m.Payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(m.Retain)
            .WithContentType("application/json")
            .Build();
        MqttClientPublishResult result = await _client.PublishAsync(message, ct);
        if (result.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
        {
            // The broker refused this message for good (not authorised, topic invalid): retrying would block the queue.
            Rejected++;
            LogRejected(m.Topic, result.ReasonCode.ToString(), result.ReasonString);
        }

        outbox.Acknowledge(m);
    }

    private async Task PublishStatusAsync(NodeState state, CancellationToken ct)
    {
        byte[] payload = _buffer.Status(status.Build(state)).ToArray();
        MqttApplicationMessage message = new MqttApplicationMessageBuilder()
            .WithTopic(status.Topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(true)
            .WithContentType("application/json")
            .Build();
        await _client.PublishAsync(message, ct);
    }

    private async Task<bool> TryConnectAsync(CancellationToken ct)
    {
        Uri broker = _mqtt.ParseBroker()!;
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, MqttOptions.Port(broker))
            .WithClientId(_mqtt.ClientId ?? $"sensorkit-{_node.Site}-{_node.Id}")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithKeepAlivePeriod(_mqtt.KeepAlive)
            .WithCleanStart(true)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(status.Topic)
            .WithWillPayload(_buffer.Status(status.Build(NodeState.Lost)).ToArray())
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillContentType("application/json");
        if (broker.Scheme == "mqtts")
        {
            // The platform's certificate validation stays on: never accept any certificate.
            builder.WithTlsOptions(o => o.UseTls());
        }

        if (!string.IsNullOrEmpty(_mqtt.Username))
        {
            string password = _mqtt.PasswordFile is null ? string.Empty : (await File.ReadAllTextAsync(_mqtt.PasswordFile, ct)).TrimEnd('\r', '\n');
            builder.WithCredentials(_mqtt.Username, password);
        }

        string error;
        try
        {
            MqttClientConnectResult result = await _client.ConnectAsync(builder.Build(), ct);
            if (result.ResultCode == MqttClientConnectResultCode.Success)
            {
                _lastConnectError = null;
                LogConnected(broker.Host, MqttOptions.Port(broker));
                return true;
            }

            error = $"refused with reason code {result.ResultCode}";
        }
        catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            error = e.InnerException?.Message ?? e.Message;
        }

        // Log a failure once, not on every retry: an outage can last hours.
        if (error != _lastConnectError)
        {
            _lastConnectError = error;
            LogConnectFailed(broker.Host, MqttOptions.Port(broker), error);
        }

        return false;
    }

    /// <summary>Exponential backoff with equal jitter, so nodes that lost the broker together do not return in lockstep.</summary>
    private TimeSpan Backoff(int attempt)
    {
        double cap = Math.Min(_mqtt.ReconnectMax.TotalMilliseconds, _mqtt.ReconnectMin.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20)));
        return TimeSpan.FromMilliseconds((cap / 2) + (Random.Shared.NextDouble() * cap / 2));
    }

    public override void Dispose()
    {
        _client.Dispose();
        _buffer.Dispose();
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to MQTT broker {Host}:{Port}")]
    private partial void LogConnected(string host, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot connect to MQTT broker {Host}:{Port}: {Reason}; retrying with backoff")]
    private partial void LogConnectFailed(string host, int port, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connection lost: {Reason}; data stays queued")]
    private partial void LogConnectionLost(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker rejected message on {Topic}: {ReasonCode} {ReasonString}")]
    private partial void LogRejected(string topic, string reasonCode, string? reasonString);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped before saying goodbye to the broker ({Reason}); {Pending} messages still queued")]
    private partial void LogStopIncomplete(string reason, int pending);
}
