using MQTTnet;
using MQTTnet.Exceptions;

namespace SensorKit.Mqtt;

/// <summary>
/// Keeps one MQTT client connected for a worker (MQTTnet 5 has no managed client): connects, runs the worker's
/// <see cref="IMqttWorker.RunAsync"/> while connected, and after a failed attempt or a fault waits
/// <see cref="ReconnectBackoff"/> before the next one. With several brokers (<see cref="Rotation"/>) a failed attempt
/// or a lost connection moves on to the next broker at once, and the backoff comes after a round in which every one
/// failed. A failure is reported once per broker and reason, not at every retry: an outage can last hours.
/// </summary>
public sealed class MqttConnectionLoop : IDisposable
{
    /// <summary>The longest wait for MQTTnet to tear a lost connection down; its own disconnect is bounded by the connect timeout.</summary>
    private static readonly TimeSpan TeardownCap = TimeSpan.FromSeconds(30);

    private readonly ReconnectBackoff _backoff;
    private readonly TimeProvider _time;
    private readonly string?[] _lastErrors;
    private long _retryAtTicks;

    // Created when a connection is up, completed by MQTTnet's DisconnectedAsync, which it raises once the connection
    // is torn down: a connect before that is refused ("connect/disconnect is pending") and would count as a failure.
    private TaskCompletionSource? _teardown;

    /// <param name="rotation">The brokers' order; one broker when null.</param>
    public MqttConnectionLoop(ReconnectBackoff backoff, TimeProvider time, BrokerRotation? rotation = null)
    {
        _backoff = backoff;
        _time = time;
        Rotation = rotation ?? new BrokerRotation(1, TimeSpan.Zero, time);
        _lastErrors = new string?[Rotation.Count];
        Client.DisconnectedAsync += _ =>
        {
            Volatile.Read(ref _teardown)?.TrySetResult();
            return Task.CompletedTask;
        };
    }

    public IMqttClient Client { get; } = new MqttClientFactory().CreateMqttClient();

    /// <summary>Which broker the next attempt goes to, or the one connected to: the worker plans for <see cref="BrokerRotation.Current"/>.</summary>
    public BrokerRotation Rotation { get; }

    public bool IsConnected => Client.IsConnected;

    /// <summary>When the next attempt is due while the loop backs off; null otherwise.</summary>
    public DateTimeOffset? RetryAt => Volatile.Read(ref _retryAtTicks) is var ticks and not 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>Runs until <paramref name="ct"/> is cancelled; an exception the worker does not recover from ends it.</summary>
    public async Task RunAsync(IMqttWorker worker, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(worker);
        int failures = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (!Client.IsConnected)
                {
                    if (!await TryConnectAsync(worker, ct))
                    {
                        if (Rotation.Failed())
                        {
                            await BackOffAsync(failures++, ct);
                        }

                        continue;
                    }

                    failures = 0;
                    Rotation.Connected();
                }

                try
                {
                    await worker.RunAsync(ct);
                }
                catch (MqttCommunicationException e)
                {
                    worker.OnConnectionLost(e.Message);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (!worker.OnFault(e))
                    {
                        throw;
                    }

                    await BackOffAsync(failures++, ct);
                }

                if (!Client.IsConnected)
                {
                    await TornDownAsync(ct);
                    Rotation.Ended();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    private async Task<bool> TryConnectAsync(IMqttWorker worker, CancellationToken ct)
    {
        MqttConnectPlan plan = await worker.PlanAsync(ct);
        string? error = plan.Error;
        if (error is null)
        {
            try
            {
                MqttClientConnectResult result = await Client.ConnectAsync(plan.Options!, ct);
                if (result.ResultCode == MqttClientConnectResultCode.Success)
                {
                    Volatile.Write(ref _teardown, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                    await worker.OnConnectedAsync(plan, ct);
                    _lastErrors[Rotation.Current] = null;
                    return true;
                }

                error = worker.DescribeRefusal(result.ResultCode);
            }
            catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                error = worker.DescribeFailure(e);
            }
            catch (InvalidOperationException e)
            {
                // MQTTnet refuses a connect while the previous connection is still being torn down: try again after the backoff.
                error = e.Message;
            }
        }

        if (error != _lastErrors[Rotation.Current])
        {
            _lastErrors[Rotation.Current] = error;
            worker.OnConnectFailed(plan, error);
        }

        return false;
    }

    /// <summary>Waits until MQTTnet has finished with the connection that just ended, so the next attempt is not refused for it.</summary>
    private async Task TornDownAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _teardown) is not { } teardown)
        {
            return;
        }

        try
        {
            await teardown.Task.WaitAsync(TeardownCap, _time, ct);
        }
        catch (TimeoutException)
        {
            // Try anyway; a refusal is then handled as any failed attempt.
        }

        Interlocked.CompareExchange(ref _teardown, null, teardown);
    }

    private async Task BackOffAsync(int failures, CancellationToken ct)
    {
        // Task.Delay waits whole milliseconds; so does this, and RetryAt says when the wait really ends.
        TimeSpan delay = TimeSpan.FromMilliseconds(Math.Floor(_backoff.Delay(failures).TotalMilliseconds));
        DateTimeOffset due = _time.GetUtcNow() + delay;

        // The timer exists before RetryAt says so: whoever reads RetryAt may move a fake clock to it at once.
        Task wait = Task.Delay(delay, _time, ct);
        Volatile.Write(ref _retryAtTicks, due.UtcTicks);
        try
        {
            await wait;
        }
        finally
        {
            Volatile.Write(ref _retryAtTicks, 0);
        }
    }

    /// <summary>
    /// Leaves a later broker for the first one, between two publishes: a clean disconnect, after which the
    /// worker's <see cref="IMqttWorker.RunAsync"/> returns and the next attempt goes to the first broker (and, should
    /// that fail, at once down the list again).
    /// </summary>
    public async Task ReturnToFirstAsync(CancellationToken ct)
    {
        Rotation.ReturnToFirst();
        await Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), ct);
    }

    public void Dispose() => Client.Dispose();
}
