using MQTTnet;
using MQTTnet.Exceptions;

namespace SensorKit.Mqtt;

/// <summary>
/// Keeps one MQTT client connected for a worker (MQTTnet 5 has no managed client): connects, runs the worker's
/// <see cref="IMqttWorker.RunAsync"/> while connected, and after a failed attempt or a fault waits
/// <see cref="ReconnectBackoff"/> before the next one. A failure is reported once, not at every retry: an outage
/// can last hours.
/// </summary>
public sealed class MqttConnectionLoop(ReconnectBackoff backoff, TimeProvider time) : IDisposable
{
    private string? _lastError;
    private long _retryAtTicks;

    public IMqttClient Client { get; } = new MqttClientFactory().CreateMqttClient();

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
                        await BackOffAsync(failures++, ct);
                        continue;
                    }

                    failures = 0;
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
                    await worker.OnConnectedAsync(plan, ct);
                    _lastError = null;
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

        if (error != _lastError)
        {
            _lastError = error;
            worker.OnConnectFailed(plan, error);
        }

        return false;
    }

    private async Task BackOffAsync(int failures, CancellationToken ct)
    {
        // Task.Delay waits whole milliseconds; so does this, and RetryAt says when the wait really ends.
        TimeSpan delay = TimeSpan.FromMilliseconds(Math.Floor(backoff.Delay(failures).TotalMilliseconds));
        DateTimeOffset due = time.GetUtcNow() + delay;

        // The timer exists before RetryAt says so: whoever reads RetryAt may move a fake clock to it at once.
        Task wait = Task.Delay(delay, time, ct);
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

    public void Dispose() => Client.Dispose();
}
