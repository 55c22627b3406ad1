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
/// "lost", and sends the outbox at QoS 1, removing a record only after its PUBACK.
/// After a reconnect, what waited in the outbox (the backlog) goes out oldest first at
/// Outbox:ReplayRate, marked backfill and not retained (the retained value stays the newest one),
/// while newer telemetry goes out at once and alerts go before everything.
/// On a clean stop it publishes "offline" itself, because a broker discards the will on a normal
/// disconnect (MQTT 5.0 §3.14.4), and MQTTnet's broker ignores "disconnect with will" too.
/// </summary>
public sealed partial class MqttPublisher(
    IOptions<MqttOptions> mqttOptions,
    IOptions<NodeOptions> nodeOptions,
    IOptions<OutboxOptions> outboxOptions,
    IOptions<HomeAssistantOptions> homeAssistantOptions,
    IOutbox outbox,
    NodeStatusSource status,
    SensorRegistry sensors,
    TimeProvider time,
    ILogger<MqttPublisher> logger) : BackgroundService
{
    private const string Json = "application/json";
    private static readonly TimeSpan DrainOnStop = TimeSpan.FromSeconds(3);

    private readonly MqttOptions _mqtt = mqttOptions.Value;
    private readonly NodeOptions _node = nodeOptions.Value;
    private readonly HomeAssistantOptions _homeAssistant = homeAssistantOptions.Value;
    private readonly TimeSpan _replayInterval = TimeSpan.FromSeconds(1 / outboxOptions.Value.ReplayRate);
    private readonly BrokerTrust _trust = new(mqttOptions.Value);
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly PayloadBuffer _buffer = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private Task<bool>? _woken;
    private volatile bool _statusDirty = true;
    private string? _lastConnectError;
    private bool _loggedBadStoredPayload;

    // Per connection: records below _liveFrom are the backlog, sent paced and marked backfill.
    private long _liveFrom;
    private long _liveCursor;
    private long _backlogCursor;
    private DateTimeOffset _nextReplay;

    public bool IsConnected => _client.IsConnected;

    /// <summary>Messages the broker refused for good (a PUBACK reason code other than success), dropped after logging.</summary>
    public long Rejected { get; private set; }

    /// <summary>Backlog records sent marked backfill since start.</summary>
    public long Backfilled { get; private set; }

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
                    StartConnection();
                }

                try
                {
                    await AnnounceAsync(ct);
                    await PumpAsync(ct);
                }
                catch (Exception e) when (e is MqttCommunicationException or MqttClientNotConnectedException or MqttClientDisconnectedException)
                {
                    LogConnectionLost(e.Message, outbox.Figures.Queued);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Whatever went wrong, the records stay in the outbox; the publisher must outlive it.
                    LogPublishFailed(e.GetType().Name, e.Message);
                    await Task.Delay(Backoff(attempt++), time, ct);
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

        // Send what is live and urgent; the backlog stays on disk for the next start.
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(DrainOnStop);
        try
        {
            while (!drain.IsCancellationRequested && await TrySendNextAsync(includeBacklog: false, drain.Token))
            {
            }

            await PublishStatusAsync(NodeState.Offline, drain.Token);
            await _client.DisconnectAsync(
                new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(),
                drain.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or MqttCommunicationException or MqttClientNotConnectedException)
        {
            LogStopIncomplete(e.Message, outbox.Figures.Queued);
        }
    }

    private void OnHealthChanged()
    {
        _statusDirty = true;
        _wake.Release();
    }

    /// <summary>Everything in the outbox now is backlog for this connection; everything appended from now on is live.</summary>
    private void StartConnection()
    {
        _liveFrom = outbox.NextSequence;
        _liveCursor = _liveFrom;
        _backlogCursor = 0;
        _nextReplay = time.GetUtcNow();
    }

    /// <summary>The retained birth status, and the Home Assistant discovery configs when enabled.</summary>
    private async Task AnnounceAsync(CancellationToken ct)
    {
        if (!_homeAssistant.Enabled)
        {
            return;
        }

        foreach ((string topic, byte[] payload) in HomeAssistantDiscovery.Messages(_homeAssistant, _node, sensors, NodeStatusSource.FirmwareVersion))
        {
            MqttApplicationMessage message = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithRetainFlag(true)
                .WithContentType(Json)
                .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
                .Build();
            await _client.PublishAsync(message, ct);
        }
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

            // Read before looking, so an append between the look and the wait still wakes us.
            long appendedUpTo = outbox.NextSequence;
            if (await TrySendNextAsync(includeBacklog: true, ct))
            {
                continue;
            }

            DateTimeOffset now = time.GetUtcNow();
            TimeSpan untilStatus = nextStatus - now;
            if (untilStatus <= TimeSpan.Zero)
            {
                continue;
            }

            TimeSpan wait = untilStatus;
            if (outbox.TryPeek(OutboxKind.Telemetry, _backlogCursor, _liveFrom, out _))
            {
                // Backlog waits for its next replay slot.
                wait = TimeSpan.FromTicks(Math.Max(1, Math.Min(wait.Ticks, (_nextReplay - now).Ticks)));
            }

            // No cancelled waits: a cancelled SemaphoreSlim.WaitAsync throws inside (an exception per loop, issue 16).
            // The wake-up wait is kept across loops until it completes; the others end, without throwing, when cancelled.
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task appended = outbox.WaitForAppendAsync(appendedUpTo, waiting.Token).AsTask();
            _woken ??= _wake.WaitAsync(Timeout.Infinite, CancellationToken.None);
            Task due = Task.Delay(wait, time, waiting.Token);
            await Task.WhenAny(appended, _woken, due);
            if (_woken.IsCompleted)
            {
                _woken = null;
            }

            await waiting.CancelAsync();
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Sends one record: an alert first, else the oldest live telemetry, else (when its slot has come) the oldest backlog record.</summary>
    private async Task<bool> TrySendNextAsync(bool includeBacklog, CancellationToken ct)
    {
        if (outbox.TryPeek(OutboxKind.Alert, 0, long.MaxValue, out OutboxRecord record))
        {
            await PublishRecordAsync(record, backfill: false, ct);
            return true;
        }

        if (outbox.TryPeek(OutboxKind.Telemetry, _liveCursor, long.MaxValue, out record))
        {
            // A record the broker could not take yet (quota) is tried again, not skipped for this connection.
            if (await PublishRecordAsync(record, backfill: false, ct))
            {
                _liveCursor = record.Sequence + 1;
            }

            return true;
        }

        DateTimeOffset now = time.GetUtcNow();
        if (includeBacklog && now >= _nextReplay && outbox.TryPeek(OutboxKind.Telemetry, _backlogCursor, _liveFrom, out record))
        {
            if (!await PublishRecordAsync(record, backfill: true, ct))
            {
                return true;
            }

            _backlogCursor = record.Sequence + 1;
            // Paced from the later of the last slot and now, so a pause does not turn into a burst.
            _nextReplay = (_nextReplay > now - _replayInterval ? _nextReplay : now) + _replayInterval;
            Backfilled++;
            return true;
        }

        return false;
    }

    /// <summary>Publishes one record and settles it on the broker's answer; false when the broker was busy and the record must be sent again.</summary>
    private async Task<bool> PublishRecordAsync(OutboxRecord record, bool backfill, CancellationToken ct)
    {
        ReadOnlyMemory<byte> payload = record.Payload;
        if (backfill && record.Kind == OutboxKind.Telemetry)
        {
            if (ProtocolJson.TryReadTelemetry(record.Payload, out TelemetryMessage stored, out string error))
            {
                payload = _buffer.Telemetry(stored with { Backfill = true });
            }
            else if (!_loggedBadStoredPayload)
            {
                // Cannot happen unless the format changed under us; send it as it is rather than lose it.
                _loggedBadStoredPayload = true;
                LogBadStoredPayload(record.Sequence, error);
            }
        }

        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(record.Topic)
            .WithPayload(payload.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            // A backfilled window is history: retaining it would replace the newer last value.
            .WithRetainFlag(record.Retain && !backfill)
            .WithContentType(Json)
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
        if (record.Kind == OutboxKind.Telemetry && _mqtt.TelemetryExpiry > TimeSpan.Zero)
        {
            builder.WithMessageExpiryInterval((uint)_mqtt.TelemetryExpiry.TotalSeconds);
        }

        MqttClientPublishResult result = await _client.PublishAsync(builder.Build(), ct);
        switch (result.ReasonCode)
        {
            case MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers:
                break;
            case MqttClientPublishReasonCode.QuotaExceeded:
                // The broker is busy, not refusing: keep the record and try again later.
                LogQuota(record.Topic);
                await Task.Delay(_mqtt.ReconnectMin, time, ct);
                return false;
            default:
                // The broker refused this message for good (not authorised, topic invalid): retrying would block the queue.
                Rejected++;
                LogRejected(record.Topic, result.ReasonCode.ToString(), result.ReasonString);
                break;
        }

        outbox.Acknowledge(record.Sequence);
        return true;
    }

    private async Task PublishStatusAsync(NodeState state, CancellationToken ct)
    {
        byte[] payload = _buffer.Status(status.Build(state)).ToArray();
        MqttApplicationMessage message = new MqttApplicationMessageBuilder()
            .WithTopic(status.Topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(true)
            .WithContentType(Json)
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .Build();
        await _client.PublishAsync(message, ct);
    }

    private async Task<bool> TryConnectAsync(CancellationToken ct)
    {
        Uri broker = _mqtt.ParseBroker()!;
        string host = broker.Host;
        int port = MqttOptions.Port(broker);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId(_mqtt.ClientId ?? $"sensorkit-{_node.Site}-{_node.Id}")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithKeepAlivePeriod(_mqtt.KeepAlive)
            .WithCleanStart(true)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(status.Topic)
            .WithWillPayload(_buffer.Status(status.Build(NodeState.Lost)).ToArray())
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillContentType(Json)
            .WithWillPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
        if (broker.Scheme == "mqtts")
        {
            builder.WithTlsOptions(o => o
                .UseTls()
                .WithTargetHost(host)
                .WithRevocationMode(System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck)
                .WithCertificateValidationHandler(e => _trust.Validate(e.Certificate, e.Chain, e.SslPolicyErrors)));
        }

        string? error = null;
        if (!string.IsNullOrEmpty(_mqtt.Username))
        {
            string? password = ReadPassword(out error);
            if (error is null)
            {
                builder.WithCredentials(_mqtt.Username, password);
            }
        }

        if (error is null)
        {
            try
            {
                MqttClientConnectResult result = await _client.ConnectAsync(builder.Build(), ct);
                if (result.ResultCode == MqttClientConnectResultCode.Success)
                {
                    _lastConnectError = null;
                    LogConnected(host, port, outbox.Figures.Queued);
                    return true;
                }

                error = Describe(result.ResultCode);
            }
            catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                error = _trust.LastRejection is { } tls ? $"TLS: {tls}" : e.InnerException?.Message ?? e.Message;
            }
            catch (InvalidOperationException e)
            {
                // MQTTnet refuses a connect while the previous connection is still being torn down: try again after the backoff.
                error = e.Message;
            }
        }

        // Log a failure once, not on every retry: an outage can last hours.
        if (error != _lastConnectError)
        {
            _lastConnectError = error;
            LogConnectFailed(host, port, error);
        }

        return false;
    }

    private string Describe(MqttClientConnectResultCode code) => code switch
    {
        MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized =>
            $"the broker refused the credentials of user '{_mqtt.Username}' ({code}); check {MqttOptions.Section}:Username and the password in " +
            (_mqtt.PasswordEnvironmentVariable is { Length: > 0 } v ? $"the environment variable '{v}'" : $"{MqttOptions.Section}:PasswordFile"),
        _ => $"refused with reason code {code}",
    };

    /// <summary>The password, read at every connect so a rotated secret is picked up; never logged.</summary>
    private string? ReadPassword(out string? error)
    {
        error = null;
        if (!string.IsNullOrEmpty(_mqtt.PasswordEnvironmentVariable))
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable(_mqtt.PasswordEnvironmentVariable);
            error = string.IsNullOrEmpty(fromEnvironment) ? $"the environment variable '{_mqtt.PasswordEnvironmentVariable}' ({MqttOptions.Section}:PasswordEnvironmentVariable) is not set" : null;
            return fromEnvironment;
        }

        if (string.IsNullOrEmpty(_mqtt.PasswordFile))
        {
            return null;
        }

        try
        {
            return File.ReadAllText(_mqtt.PasswordFile).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read {MqttOptions.Section}:PasswordFile '{_mqtt.PasswordFile}': {e.Message}";
            return null;
        }
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to MQTT broker {Host}:{Port}; {Queued} records waiting in the outbox")]
    private partial void LogConnected(string host, int port, int queued);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot connect to MQTT broker {Host}:{Port}: {Reason}; retrying with backoff, data stays in the outbox")]
    private partial void LogConnectFailed(string host, int port, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connection lost: {Reason}; {Queued} records stay in the outbox")]
    private partial void LogConnectionLost(string reason, int queued);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker rejected message on {Topic}: {ReasonCode} {ReasonString}")]
    private partial void LogRejected(string topic, string reasonCode, string? reasonString);

    [LoggerMessage(Level = LogLevel.Error, Message = "Publishing failed ({Type}: {Reason}); records stay in the outbox, retrying")]
    private partial void LogPublishFailed(string type, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker quota exceeded publishing {Topic}; the record stays queued")]
    private partial void LogQuota(string topic);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox record {Sequence} is not valid telemetry ({Error}); sent unchanged")]
    private partial void LogBadStoredPayload(long sequence, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped before saying goodbye to the broker ({Reason}); {Pending} records stay in the outbox")]
    private partial void LogStopIncomplete(string reason, int pending);
}
