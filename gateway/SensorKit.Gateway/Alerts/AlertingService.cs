using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Rules;
using SensorKit.Gateway.State;

namespace SensorKit.Gateway.Alerts;

/// <summary>
/// Opens the state store and restores the rule engine before any message is taken (it is registered before the
/// MQTT connection), then drives the gateway clock: operator checks and settling every Rules:Operator:CheckInterval,
/// rule state written every State:FlushInterval and at stop, old messages pruned hourly.
/// </summary>
public sealed partial class AlertingService(
    RuleEngine engine,
    AlertStore store,
    AlertPublisher publisher,
    IOptions<StateOptions> state,
    TimeProvider time,
    ILogger<AlertingService> logger) : BackgroundService
{
    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        store.Open();
        publisher.Sent += OnSent;
        engine.Restore();
        LogRules(engine.Catalog.Rules.Count, string.Join(", ", engine.Catalog.RuleIds));
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
                engine.Tick();
                DateTimeOffset now = time.GetUtcNow();
                if (now >= nextFlush)
                {
                    engine.Flush();
                    nextFlush = now + state.Value.FlushInterval;
                }

                if (now >= nextPrune)
                {
                    Prune(now);
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
        engine.Flush();
        publisher.Sent -= OnSent;
    }

    private void OnSent(string identifier)
    {
        try
        {
            store.MarkPublished(identifier);
        }
        catch (SqliteException e)
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
        catch (SqliteException e)
        {
            LogMarkFailed("(prune)", e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} hazard rules in force: {Rules}")]
    private partial void LogRules(int count, string rules);

    [LoggerMessage(Level = LogLevel.Warning, Message = "State store: could not record {Identifier} as sent: {Reason}")]
    private partial void LogMarkFailed(string identifier, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "State store: pruned {Count} messages of long-ended alerts")]
    private partial void LogPruned(int count);
}
