using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.State;
using SensorKit.Hosting;
using SensorKit.Protocol;
using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>The latest window of a channel, as the status page shows it.</summary>
internal sealed record LatestValue(string Sensor, string Quantity, string Unit, double Mean, DateTimeOffset End, QualityFlags Flags);

/// <summary>
/// What the live pages wait for: a telemetry consumer that keeps each channel's latest window and notes that data
/// arrived, and a loop that notices alert steps by comparing the store's active alerts after new data and every few
/// seconds (steps also come from timers and operator cancels, not only from telemetry).
/// </summary>
internal sealed partial class LiveHub(IAlertStore store, IOptions<StatusPageOptions> options, TimeProvider time, ILogger<LiveHub> logger) : BackgroundService, ITelemetryConsumer
{
    private readonly LogLimiter _logLimit = new(time, TimeSpan.FromMinutes(1));
    private static readonly TimeSpan AlertPoll = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<(string Site, string Node, string Sensor, string Quantity), LatestValue> _latest = new();
    private readonly SemaphoreSlim _data = new(0, 1);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _telemetry;
    private string _alertSignature = string.Empty;

    public string Name => "status-page";

    /// <summary>Counts up whenever the active alerts change (raise, update, clear, cancel).</summary>
    public long AlertVersion { get; private set; }

    /// <summary>Counts up at most once per <see cref="StatusPageOptions.TelemetryInterval"/> while data arrives.</summary>
    public long TelemetryVersion { get; private set; }

    public void OnWindow(in TelemetryMessage window)
    {
        var key = (window.Site, window.Node, window.Sensor, window.Quantity);
        var value = new LatestValue(window.Sensor, window.Quantity, window.Unit, window.Mean, window.WindowEnd, window.Flags);
        // Backfill arrives oldest first and must not replace a newer value.
        _latest.AddOrUpdate(key, value, (_, old) => old.End >= value.End ? old : value);
        Interlocked.Increment(ref _telemetry);
        if (_data.CurrentCount == 0)
        {
            try
            {
                _data.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another window woke the loop at the same moment; one wake-up is enough.
            }
        }
    }

    public LatestValue? Latest(string site, string node, string sensor, string quantity) =>
        _latest.TryGetValue((site, node, sensor, quantity), out LatestValue? v) ? v : null;

    /// <summary>Remembers a value read from the history (after a restart) unless a newer one came meanwhile.</summary>
    public void Seed(string site, string node, LatestValue value) =>
        _latest.AddOrUpdate((site, node, value.Sensor, value.Quantity), value, (_, old) => old.End >= value.End ? old : value);

    /// <summary>Completes when either version moved past the ones given.</summary>
    public async Task<(long Alerts, long Telemetry)> WaitAsync(long alerts, long telemetry, CancellationToken ct)
    {
        while (AlertVersion == alerts && TelemetryVersion == telemetry)
        {
            await Volatile.Read(ref _changed).Task.WaitAsync(ct);
        }

        return (AlertVersion, TelemetryVersion);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan interval = options.Value.TelemetryInterval;
        long seen = 0;
        DateTimeOffset lastTelemetry = DateTimeOffset.MinValue;
        Task? wake = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            // Data wakes the loop at once; without data it still looks at the alerts every AlertPoll.
            wake ??= _data.WaitAsync(stoppingToken);
            await Task.WhenAny(wake, Task.Delay(AlertPoll, time, stoppingToken));
            if (wake.IsCompleted)
            {
                await wake;
                wake = null;
            }

            bool changed = false;
            string signature = Signature();
            if (signature != _alertSignature)
            {
                _alertSignature = signature;
                AlertVersion++;
                changed = true;
            }

            long count = Interlocked.Read(ref _telemetry);
            if (count != seen && time.GetUtcNow() - lastTelemetry >= interval)
            {
                seen = count;
                lastTelemetry = time.GetUtcNow();
                TelemetryVersion++;
                changed = true;
            }

            if (changed)
            {
                Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        }
    }

    private string Signature()
    {
        try
        {
            return string.Join('|', store.LoadAlerts().Select(a => $"{a.AlertId}:{a.Revision}:{a.Cancelled}"));
        }
        catch (InvalidOperationException)
        {
            // The store is not open yet (the gateway is still starting) or already closed.
            return _alertSignature;
        }
        catch (Exception e) when (e is StateStoreException or JsonException)
        {
            // A store that cannot be read now must not end the live updates (nor, through this service, the gateway).
            if (_logLimit.TryEnter("alert-store", out long suppressed))
            {
                LogStoreUnreadable(e.Message, suppressed);
            }

            return _alertSignature;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Live status updates cannot read the alert store: {Reason} ({Suppressed} more held back); retrying")]
    private partial void LogStoreUnreadable(string reason, long suppressed);

    public override void Dispose()
    {
        _data.Dispose();
        base.Dispose();
    }
}
