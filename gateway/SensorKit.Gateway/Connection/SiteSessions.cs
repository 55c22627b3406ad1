using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.Storage;
using SensorKit.Mqtt;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Connection;

/// <summary>
/// A gateway group member's intake: one persistent MQTT session per site it holds, under a client id of the site's
/// own (<c>Broker:ClientId</c>-site-<c>site</c>), subscribed to that site's node topics only. The session belongs to
/// the site, not to the member: while nobody holds the site the broker queues its messages, and the next holder
/// resumes the session and receives them, with any the previous holder had not acknowledged. A member that resumes
/// after a pause finds its session taken over by the new holder. A message is acknowledged only after it was
/// evaluated under a valid lease; one that arrives once the lease is gone is left unacknowledged for the next holder.
/// </summary>
public sealed partial class SiteSessions(
    IOptions<BrokerOptions> options,
    IBrokerIntake ingest,
    ISiteOwnership ownership,
    TimeProvider time,
    ILogger<SiteSessions> logger) : IAsyncDisposable
{
    private static readonly TimeSpan ReconnectMin = TimeSpan.FromMilliseconds(250);

    /// <summary>How long stopping a session may take before the group loop goes on without it.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, SiteSession> _sessions = new(StringComparer.Ordinal);
    private readonly BrokerOptions _options = options.Value;
    private readonly IBrokerIntake _ingest = ingest;
    private readonly ISiteOwnership _ownership = ownership;
    private readonly TimeProvider _time = time;

    /// <summary>The sites whose session runs.</summary>
    public IReadOnlyCollection<string> Serving => [.. _sessions.Keys];

    /// <summary>True once the site's session is connected and subscribed.</summary>
    public bool IsSubscribed(string site) => _sessions.TryGetValue(site, out SiteSession? s) && s.Subscribed;

    /// <summary>Starts the site's session; it connects and reconnects in the background.</summary>
    public void Start(string site)
    {
        var session = new SiteSession(this, site);
        if (_sessions.TryAdd(site, session))
        {
            ReserveThreads(_sessions.Count);
            session.Start();
        }
        else
        {
            session.Dispose();
        }
    }

    /// <summary>
    /// Stops taking the site's messages, waits for the one being evaluated, and ends the session with a normal
    /// DISCONNECT, which keeps it (and its queue) for the next holder.
    /// </summary>
    public async Task StopAsync(string site)
    {
        if (_sessions.TryRemove(site, out SiteSession? session))
        {
            await session.StopAsync();
            session.Dispose();
        }
    }

    /// <summary>
    /// Every session's receive loop evaluates its message under the rule engine's one lock, so with a hundred sites a
    /// hundred pool threads can wait there at once. The pool adds threads only slowly beyond its minimum, and a
    /// starved pool delays everything, the lease loop included: its minimum grows with the sessions.
    /// </summary>
    private static void ReserveThreads(int sessions)
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        int wanted = sessions + Environment.ProcessorCount + 8;
        if (workers < wanted)
        {
            ThreadPool.SetMinThreads(wanted, io);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (string site in _sessions.Keys)
        {
            await StopAsync(site);
        }
    }

    private sealed class SiteSession : IMqttWorker, IDisposable
    {
        private readonly SiteSessions _owner;
        private readonly string _site;
        private readonly MqttConnectionLoop _loop;
        private readonly CancellationTokenSource _stop = new();
        private readonly Lock _gate = new();
        private bool _accepting = true;
        private int _inflight;
        private TaskCompletionSource? _drained;
        private Task _run = Task.CompletedTask;

        public SiteSession(SiteSessions owner, string site)
        {
            _owner = owner;
            _site = site;
            _loop = new MqttConnectionLoop(new ReconnectBackoff(ReconnectMin, owner._options.ReconnectMax), owner._time);
            _loop.Client.ApplicationMessageReceivedAsync += OnMessage;
            _loop.Client.DisconnectedAsync += e =>
            {
                Subscribed = false;
                if (e.ClientWasConnected && e.Reason == MqttClientDisconnectReason.SessionTakenOver)
                {
                    // Only a new holder resumes a site's session: this member must not take it back.
                    _owner.LogTakenOver(_site);
                    _owner._ownership.Lost(_site, "another gateway resumed the site's MQTT session");
                }

                return Task.CompletedTask;
            };
        }

        public bool Subscribed { get; private set; }

        public void Start() => _run = _loop.RunAsync(this, _stop.Token);

        private Task OnMessage(MqttApplicationMessageReceivedEventArgs e)
        {
            lock (_gate)
            {
                if (!_accepting)
                {
                    e.AutoAcknowledge = false;
                    return Task.CompletedTask;
                }

                _inflight++;
            }

            try
            {
                if (!_owner._ownership.TryGetToken(_site, out _))
                {
                    e.AutoAcknowledge = false;
                    return Task.CompletedTask;
                }

                long received = Stopwatch.GetTimestamp();
                ReadOnlySequence<byte> payload = e.ApplicationMessage.Payload;
                _owner._ingest.Handle(e.ApplicationMessage.Topic, payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray(), received);

                // The lease ran out, or the store refused the step, while this was evaluated: the next holder takes it again.
                if (!_owner._ownership.TryGetToken(_site, out _))
                {
                    e.AutoAcknowledge = false;
                }

                return Task.CompletedTask;
            }
            finally
            {
                lock (_gate)
                {
                    if (--_inflight == 0)
                    {
                        _drained?.TrySetResult();
                    }
                }
            }
        }

        public async Task StopAsync()
        {
            Task drained = Task.CompletedTask;
            lock (_gate)
            {
                _accepting = false;
                if (_inflight > 0)
                {
                    _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    drained = _drained.Task;
                }
            }

            await drained;
            await _stop.CancelAsync();
            try
            {
                await _run.WaitAsync(StopTimeout);
                if (_loop.Client.IsConnected)
                {
                    using var timeout = new CancellationTokenSource(StopTimeout);
                    await _loop.Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), timeout.Token);
                }
            }
            catch (Exception e) when (e is MqttCommunicationException or TimeoutException or OperationCanceledException)
            {
                // The broker keeps the session either way; a stop must not hold up the group's lease loop.
                _owner.LogLost(_site, e.Message);
            }
        }

        ValueTask<MqttConnectPlan> IMqttWorker.PlanAsync(CancellationToken ct) => _owner._ownership.TryGetToken(_site, out _)
            ? ExternalBrokerPlan.CreateAsync(_owner._options, $"{_owner._options.ClientId}-site-{_site}", ct)
            : ValueTask.FromResult(MqttConnectPlan.Impossible(_site, 0, "the site's lease is not held"));

        async Task IMqttWorker.OnConnectedAsync(MqttConnectPlan plan, CancellationToken ct)
        {
            string prefix = $"{Topics.Prefix}{_site}/+/";
            await _loop.Client.SubscribeAsync(
                new MqttClientSubscribeOptionsBuilder()
                    .WithTopicFilter(prefix + "telemetry/#", MqttQualityOfServiceLevel.AtLeastOnce)
                    .WithTopicFilter(prefix + "status", MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build(),
                ct);
            Subscribed = true;
            _owner.LogSubscribed(_site, plan.Host, plan.Port);
        }

        async Task IMqttWorker.RunAsync(CancellationToken ct)
        {
            // Nothing to send: the session only receives. Wake once a second to notice a dropped connection.
            while (_loop.Client.IsConnected)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _owner._time, ct);
            }
        }

        void IMqttWorker.OnConnectFailed(MqttConnectPlan plan, string reason) => _owner.LogConnectFailed(_site, plan.Host, plan.Port, reason);

        void IMqttWorker.OnConnectionLost(string reason) => _owner.LogLost(_site, reason);

        public void Dispose()
        {
            _stop.Dispose();
            _loop.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Site {Site}: session on {Host}:{Port} subscribed to the site's node topics")]
    private partial void LogSubscribed(string site, string host, int port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Site {Site}: cannot connect the site's session to {Host}:{Port}: {Reason}; retrying with backoff")]
    private partial void LogConnectFailed(string site, string host, int port, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Site {Site}: the site's session was lost: {Reason}")]
    private partial void LogLost(string site, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Site {Site}: another gateway resumed the site's session (it holds the site now)")]
    private partial void LogTakenOver(string site);
}
