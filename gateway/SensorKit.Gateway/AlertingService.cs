using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Alerts;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Health;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Rules;
using SensorKit.Gateway.State;
using SensorKit.Gateway.Storage;
using SensorKit.Gateway.Storage.Group;
using SensorKit.Hosting;

namespace SensorKit.Gateway;

/// <summary>
/// The gateway's clock and start order, part of the composition (it ties stages together, so it belongs to none):
/// opens the state store and restores the rule engine before any message is taken (it is registered before the
/// MQTT connection), then drives the gateway clock: operator checks, settling and CAP re-issues before expiry every Rules:Operator:CheckInterval,
/// rule state written every State:FlushInterval and at stop, old messages pruned hourly.
/// </summary>
public sealed partial class AlertingService(
    RuleEngine engine,
    IAlertStore store,
    AlertPublisher publisher,
    TelemetryIngest ingest,
    IOptions<StateOptions> state,
    IOptions<GroupOptions> group,
    TimeProvider time,
    ILogger<AlertingService> logger) : BackgroundService
{
    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);

    private readonly LogLimiter _logLimit = new(time, TimeSpan.FromMinutes(1), burst: 3);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        store.Open();
        publisher.Sent += OnSent;
        if (!group.Value.Enabled)
        {
            // A group member restores each site when it takes it over (GatewayGroup).
            engine.Restore();
        }

        ingest.MarkReady();
        LogRules(engine.Catalog.RuleCount, string.Join(", ", engine.Catalog.RuleIds));
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(engine.Catalog.Operator.CheckInterval, time);
        DateTimeOffset nextFlush = time.GetUtcNow() + state.Value.FlushInterval;
        DateTimeOffset nextPrune = time.GetUtcNow();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                DateTimeOffset now = time.GetUtcNow();
                Guard("operator-checks", engine.Tick);
                if (now >= nextFlush)
                {
                    // A flush that fails is retried on the next interval: the dirty states stay dirty.
                    Guard("state-flush", engine.Flush);
                    nextFlush = now + state.Value.FlushInterval;
                }

                if (now >= nextPrune)
                {
                    Guard("prune", () => Prune(now));
                    nextPrune = now + PruneInterval;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown; StopAsync writes the last state.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Guard("state-flush", engine.Flush);
        publisher.Sent -= OnSent;
    }

    /// <summary>
    /// Runs one piece of periodic work so that its failure cannot end this loop, and with it the host: the gateway
    /// keeps alerting, the failure is counted and logged within a rate limit, and the work is retried next tick.
    /// </summary>
    private void Guard(string work, Action action)
    {
        try
        {
            action();
        }
#pragma warning disable CA1031 // The clock loop is what keeps operator alerts and state alive; nothing may end it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            GatewayMetrics.BackgroundFailures.Add(1, new KeyValuePair<string, object?>("work", work));
            if (_logLimit.TryEnter(work, out long suppressed))
            {
                LogWorkFailed(work, e, suppressed);
            }
        }
    }

    private void OnSent(string identifier)
    {
        try
        {
            store.MarkPublished(identifier);
        }
        catch (StateStoreException e)
        {
            // Worst case the message is sent once more after a restart: QoS 1 subscribers handle duplicates anyway.
            LogMarkFailed(identifier, e.Message);
        }
    }

    private void Prune(DateTimeOffset now)
    {
        try
        {
            int removed = store.Prune(now - state.Value.Retention);
            if (removed > 0)
            {
                LogPruned(removed);
            }
        }
        catch (StateStoreException e)
        {
            LogMarkFailed("(prune)", e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} hazard rules in force: {Rules}")]
    private partial void LogRules(int count, string rules);

    [LoggerMessage(Level = LogLevel.Warning, Message = "State store: could not record {Identifier} as sent: {Reason}")]
    private partial void LogMarkFailed(string identifier, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Periodic work '{Work}' failed and is retried on the next tick ({Suppressed} failures not logged since the last line)")]
    private partial void LogWorkFailed(string work, Exception exception, long suppressed);

    [LoggerMessage(Level = LogLevel.Information, Message = "State store: pruned {Count} messages of long-ended alerts")]
    private partial void LogPruned(int count);
}
