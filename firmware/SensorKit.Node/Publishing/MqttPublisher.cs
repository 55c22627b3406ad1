using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;
using SensorKit.Hosting;
using SensorKit.Mqtt;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sampling;
using SensorKit.Protocol;

namespace SensorKit.Node.Publishing;

/// <summary>
/// The node's MQTT pump: kept connected by <see cref="MqttConnectionLoop"/> (backoff and jitter) with the
/// options of <see cref="NodeConnectOptions"/> (a will that says "lost"), it announces the node with a
/// retained "online" status and sends the outbox at QoS 1, removing a record only after its PUBACK.
/// After a reconnect, what waited in the outbox (the backlog) goes out oldest first at
/// Outbox:ReplayRate, marked backfill and not retained (the retained value stays the newest one),
/// while newer telemetry goes out at once and alerts go before everything.
/// On a clean stop it publishes "offline" itself, because a broker discards the will on a normal
/// disconnect (MQTT 5.0 §3.14.4), and MQTTnet's broker ignores "disconnect with will" too.
/// With several brokers (Mqtt:Brokers) the loop's <see cref="BrokerRotation"/> picks the next one after a failure; on a
/// later broker the pump looks every Mqtt:PreferPrimaryAfter whether the first answers, and returns to it when it does.
/// A new broker holds no session of the node's: whatever the outbox still holds is sent again there (the backlog).
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
    ILogger<MqttPublisher> logger) : BackgroundService, IMqttWorker
{
    private const string Json = "application/json";
    private static readonly TimeSpan DrainOnStop = TimeSpan.FromSeconds(3);

    /// <summary>How long the look at the first broker waits for its TCP handshake; the pump goes on meanwhile.</summary>
    private static readonly TimeSpan FirstBrokerLookTimeout = TimeSpan.FromSeconds(3);

    private readonly MqttOptions _mqtt = mqttOptions.Value;
    private readonly NodeOptions _node = nodeOptions.Value;
    private readonly HomeAssistantOptions _homeAssistant = homeAssistantOptions.Value;
    private readonly TimeSpan _replayInterval = TimeSpan.FromSeconds(1 / outboxOptions.Value.ReplayRate);
    private readonly NodeConnectOptions _connectOptions = new(mqttOptions.Value, nodeOptions.Value);
    private readonly MqttConnectionLoop _connection = new(
        new ReconnectBackoff(mqttOptions.Value.ReconnectMin, mqttOptions.Value.ReconnectMax),
        time,
        new BrokerRotation(mqttOptions.Value.ParseBrokers().Count, mqttOptions.Value.PreferPrimaryAfter, time));

    // Connects and losses repeat while a link flaps: a few lines per reason and period, then a count.
    private readonly LogLimiter _connectionLog = new(time, TimeSpan.FromMinutes(10), burst: 5);
    private readonly PayloadBuffer _buffer = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private Task<bool>? _woken;
    private volatile bool _statusDirty = true;
    private bool _loggedBadStoredPayload;
    private volatile string? _broker;

    // On a later broker: the running look at the first one, and whether its silence was logged during this stay.
    private Task<bool>? _firstAnswers;
    private bool _loggedFirstSilent;

    // Per connection: records below _liveFrom are the backlog, sent paced and marked backfill.
    private long _liveFrom;
    private long _liveCursor;
    private long _backlogCursor;
    private DateTimeOffset _nextReplay;

    public bool IsConnected => _connection.IsConnected;

    /// <summary>The broker connected to, as in the status (e.g. mqtts://10.0.0.2:8883); null while not connected.</summary>
    public string? Broker => IsConnected ? _broker : null;

    private IMqttClient Client => _connection.Client;

    /// <summary>Messages the broker refused for good (a PUBACK reason code other than success), dropped after logging.</summary>
    public long Rejected { get; private set; }

    /// <summary>Backlog records sent marked backfill since start.</summary>
    public long Backfilled { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        sensors.HealthChanged += OnHealthChanged;
        Client.DisconnectedAsync += _ =>
        {
            _wake.Release();
            return Task.CompletedTask;
        };

        try
        {
            await _connection.RunAsync(this, stoppingToken);
        }
        finally
        {
            sensors.HealthChanged -= OnHealthChanged;
        }
    }

    ValueTask<MqttConnectPlan> IMqttWorker.PlanAsync(CancellationToken ct)
    {
        int index = _connection.Rotation.Current;
        byte[] will = _buffer.Status(status.Build(NodeState.Lost, MqttOptions.Name(_connectOptions.Brokers[index]))).ToArray();
        return ValueTask.FromResult(_connectOptions.Plan(index, status.Topic, will));
    }

    Task IMqttWorker.OnConnectedAsync(MqttConnectPlan plan, CancellationToken ct)
    {
        _broker = MqttOptions.Name(_connectOptions.Brokers[_connection.Rotation.Current]);
        if (_connectionLog.TryEnter("connected", out long held))
        {
            LogConnected(Position(_connection.Rotation.Current), outbox.Figures.Queued, Held(held));
        }

        _statusDirty = true;
        _loggedFirstSilent = false;
        StartConnection();
        return Task.CompletedTask;
    }

    async Task IMqttWorker.RunAsync(CancellationToken ct)
    {
        await AnnounceAsync(ct);
        await PumpAsync(ct);
    }

    void IMqttWorker.OnConnectFailed(MqttConnectPlan plan, string reason) => LogConnectFailed(plan.Host, plan.Port, reason);

    void IMqttWorker.OnConnectionLost(string reason)
    {
        if (_connectionLog.TryEnter("lost", out long held))
        {
            LogConnectionLost(_broker ?? "?", reason, outbox.Figures.Queued, Held(held));
        }
    }

    string IMqttWorker.DescribeRefusal(MqttClientConnectResultCode code) => _connectOptions.DescribeRefusal(code);

    string IMqttWorker.DescribeFailure(Exception e) => _connectOptions.DescribeFailure(e);

    bool IMqttWorker.OnFault(Exception e)
    {
        // Whatever went wrong, the records stay in the outbox; the publisher must outlive it.
        LogPublishFailed(e.GetType().Name, e.Message);
        return true;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!Client.IsConnected)
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
            await Client.DisconnectAsync(
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
        _firstAnswers = null;
    }

    /// <summary>
    /// On a later broker, once Mqtt:PreferPrimaryAfter is up: starts a TCP look at the first broker without waiting
    /// for it, and when the first answers, leaves the current broker cleanly for it. True when it left.
    /// </summary>
    private async Task<bool> ReturnToFirstAsync(CancellationToken ct)
    {
        if (_firstAnswers is null)
        {
            if (_connection.Rotation.ReturnAt is not { } due || time.GetUtcNow() < due)
            {
                return false;
            }

            _firstAnswers = NodeConnectOptions.AnswersAsync(_connectOptions.Brokers[0], FirstBrokerLookTimeout, time, ct);
        }

        if (!_firstAnswers.IsCompleted)
        {
            return false;
        }

        bool answers = await _firstAnswers;
        _firstAnswers = null;
        string first = MqttOptions.Name(_connectOptions.Brokers[0]);
        if (!answers)
        {
            _connection.Rotation.Postpone();
            if (!_loggedFirstSilent)
            {
                _loggedFirstSilent = true;
                LogFirstSilent(first, Position(_connection.Rotation.Current), _mqtt.PreferPrimaryAfter);
            }

            return false;
        }

        if (_connectionLog.TryEnter("return", out long held))
        {
            LogReturning(first, Position(_connection.Rotation.Current), Held(held));
        }

        await _connection.ReturnToFirstAsync(ct);
        return true;
    }

    /// <summary>A broker for the log: its name, and with several its place in the list.</summary>
    private string Position(int index) => _connectOptions.Brokers.Count == 1
        ? MqttOptions.Name(_connectOptions.Brokers[index])
        : $"{MqttOptions.Name(_connectOptions.Brokers[index])} ({index + 1} of {_connectOptions.Brokers.Count} in Mqtt:Brokers)";

    private string Held(long held) => held == 0 ? string.Empty : $"; {held} more such lines held back in the last {_connectionLog.Period.TotalMinutes:0} minutes";

    /// <summary>The retained birth status, and the Home Assistant discovery configs when enabled.</summary>
    private async Task AnnounceAsync(CancellationToken ct)
    {
        if (!_homeAssistant.Enabled)
        {
            return;
        }

        foreach ((string topic, byte[] payload) in HomeAssistantDiscovery.Messages(_homeAssistant, _node, sensors, NodeStatusSource.FirmwareVersion))
        {
            await Client.PublishAsync(JsonMessage(topic, payload, retain: true).Build(), ct);
        }
    }

    private async Task PumpAsync(CancellationToken ct)
    {
        DateTimeOffset nextStatus = time.GetUtcNow();
        while (Client.IsConnected && !ct.IsCancellationRequested)
        {
            if (await ReturnToFirstAsync(ct))
            {
                return;
            }

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

            if (_firstAnswers is null && _connection.Rotation.ReturnAt is { } returnAt)
            {
                // Time to look whether the first broker is back.
                wait = TimeSpan.FromTicks(Math.Max(1, Math.Min(wait.Ticks, (returnAt - now).Ticks)));
            }

            // No cancelled waits: a cancelled SemaphoreSlim.WaitAsync throws inside (an exception per loop, issue 16).
            // The wake-up wait is kept across loops until it completes; the others end, without throwing, when cancelled.
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task appended = outbox.WaitForAppendAsync(appendedUpTo, waiting.Token).AsTask();
            _woken ??= _wake.WaitAsync(Timeout.Infinite, CancellationToken.None);
            Task due = Task.Delay(wait, time, waiting.Token);
            await Task.WhenAny(appended, _woken, due, _firstAnswers ?? due);
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

        // A backfilled window is history: retaining it would replace the newer last value.
        MqttApplicationMessageBuilder builder = JsonMessage(record.Topic, payload.ToArray(), retain: record.Retain && !backfill);
        if (record.Kind == OutboxKind.Telemetry && _mqtt.TelemetryExpiry > TimeSpan.Zero)
        {
            builder.WithMessageExpiryInterval((uint)_mqtt.TelemetryExpiry.TotalSeconds);
        }

        MqttClientPublishResult result = await Client.PublishAsync(builder.Build(), ct);
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
        byte[] payload = _buffer.Status(status.Build(state, _broker)).ToArray();
        await Client.PublishAsync(JsonMessage(status.Topic, payload, retain: true).Build(), ct);
    }

    /// <summary>A JSON message at QoS 1, the only kind the node sends.</summary>
    private static MqttApplicationMessageBuilder JsonMessage(string topic, byte[] payload, bool retain) => new MqttApplicationMessageBuilder()
        .WithTopic(topic)
        .WithPayload(payload)
        .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
        .WithRetainFlag(retain)
        .WithContentType(Json)
        .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);

    public override void Dispose()
    {
        _connection.Dispose();
        _buffer.Dispose();
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to MQTT broker {Broker}; {Queued} records waiting in the outbox{Held}")]
    private partial void LogConnected(string broker, int queued, string held);

    [LoggerMessage(Level = LogLevel.Information, Message = "The first MQTT broker {First} answers again; leaving {Current} for it{Held}")]
    private partial void LogReturning(string first, string current, string held);

    [LoggerMessage(Level = LogLevel.Information, Message = "The first MQTT broker {First} does not answer yet; staying on {Current}, looking again every {Interval}")]
    private partial void LogFirstSilent(string first, string current, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot connect to MQTT broker {Host}:{Port}: {Reason}; retrying with backoff, data stays in the outbox")]
    private partial void LogConnectFailed(string host, int port, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connection lost ({Broker}): {Reason}; {Queued} records stay in the outbox{Held}")]
    private partial void LogConnectionLost(string broker, string reason, int queued, string held);

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
