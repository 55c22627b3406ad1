using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Health;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.State;
using SensorKit.Gateway.Storage;
using SensorKit.Hosting;
using SensorKit.Protocol;

namespace SensorKit.Gateway.History;

/// <summary>
/// The history as a telemetry consumer. On the ingest path a window costs one journal append (a pwrite); a background
/// loop reads the journal back, writes it to <see cref="ITelemetryHistory"/> in batches of <c>History:BatchSize</c> or
/// every <c>History:FlushInterval</c>, and applies the retention hourly. Registered before the broker, so the journal
/// of an earlier run is open (and replayed first) before any window can arrive, and stopped after it, so the last
/// windows are written before the process ends.
/// </summary>
public sealed partial class HistoryRecorder(
    ITelemetryHistory history,
    IOptions<HistoryOptions> options,
    IOptions<StateOptions> state,
    IHostEnvironment environment,
    TimeProvider time,
    ILogger<HistoryRecorder> logger) : BackgroundService, ITelemetryConsumer
{
    public static readonly TimeSpan RetentionInterval = TimeSpan.FromHours(1);

    /// <summary>Transactions per tick when the journal holds a backlog (a replay after a crash, a slow disk).</summary>
    private const int MaxBatchesPerTick = 16;

    private static readonly Counter<long> Windows = GatewayMetrics.Meter.CreateCounter<long>(
        "sensorkit.gateway.history.windows", "{window}", "Telemetry windows taken by the history, by outcome");

    private readonly HistoryOptions _options = options.Value;
    private readonly LogLimiter _logLimit = new(time, TimeSpan.FromMinutes(1), burst: 3);
    private readonly Lock _gate = new();
    private TelemetryMessage[] _batch = [];
    private List<TaskCompletionSource> _waiters = [];
    private TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _retentionWanted;
    private HistoryJournal? _journal;
    private long _stored;
    private int _damagedReported;

    public string Name => "history";

    /// <summary>Windows written to the database by this process, replayed ones included.</summary>
    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>The journal's folder, beside the alert state.</summary>
    public string JournalDirectory { get; } = Path.Combine(state.Value.ResolveDirectory(environment.ContentRootPath), HistoryJournal.FolderName);

    /// <summary>Bytes in the journal not yet deleted (committed segments go whole).</summary>
    public long JournalBytes => Volatile.Read(ref _journal)?.Bytes ?? 0;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return Task.CompletedTask;
        }

        history.Open();
        try
        {
            _journal = HistoryJournal.Open(JournalDirectory, _options.MaxJournalBytes, _options.BatchSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GatewayConfigurationException($"{StateOptions.Section}:Directory: cannot use {JournalDirectory}: {e.Message}", e);
        }

        _batch = new TelemetryMessage[_options.BatchSize];
        if (_journal.Recovered > 0)
        {
            LogRecovering(_journal.Recovered, _journal.Bytes);
        }

        return base.StartAsync(cancellationToken);
    }

    public void OnWindow(in TelemetryMessage window)
    {
        HistoryJournal? journal = Volatile.Read(ref _journal);
        if (journal is null)
        {
            if (!_options.Enabled)
            {
                return;
            }

            throw new InvalidOperationException("the history is not running (its hosted service has not started, or has stopped)");
        }

        if (!journal.TryAppend(window))
        {
            Windows.Add(1, new KeyValuePair<string, object?>("outcome", "journal-full"));
            if (_logLimit.TryEnter("journal-full", out long suppressed))
            {
                LogJournalFull(journal.Bytes, window.Site, window.Node, suppressed);
            }
        }
    }

    /// <summary>
    /// Completes once everything appended before the call is in the database (and, with <paramref name="retention"/>,
    /// the retention has run). For tests on a fake clock and for orderly hand-overs; the loop does this on its own.
    /// </summary>
    public Task FlushAsync(bool retention = false)
    {
        if (!_options.Enabled || Volatile.Read(ref _journal) is null)
        {
            return Task.CompletedTask;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiters.Add(done);
            _retentionWanted |= retention;
            _requested.TrySetResult();
        }

        return done.Task;
    }

    /// <summary>
    /// Runs the writer on a thread of its own at a lower scheduling priority (nice 10): on a busy machine the broker
    /// and the rules go first, and the writer takes what CPU is left, catching up after a burst (the journal holds it).
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                if (!WriterPriority.Lower(out string? why))
                {
                    LogPriority(why);
                }

                Loop(stoppingToken);
                done.TrySetResult();
            }
#pragma warning disable CA1031 // Handed to the host through the task, as an async ExecuteAsync would.
            catch (Exception e)
#pragma warning restore CA1031
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "history-writer",
        };
        thread.Start();
        return done.Task;
    }

    private void Loop(CancellationToken stoppingToken)
    {
        HistoryJournal journal = _journal!;
        DateTimeOffset nextRetention = time.GetUtcNow();
        DateTimeOffset nextSync = nextRetention;
        while (!stoppingToken.IsCancellationRequested)
        {
            List<TaskCompletionSource> waiters;
            bool retention;
            Task requested;
            lock (_gate)
            {
                (waiters, _waiters) = (_waiters, []);
                retention = _retentionWanted;
                _retentionWanted = false;
                if (_requested.Task.IsCompleted)
                {
                    _requested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                requested = _requested.Task;
            }

            journal.ResetWake();
            bool caughtUp = false;
            bool written = Guard("history-write", () => caughtUp = Drain(journal, MaxBatchesPerTick));
            DateTimeOffset now = time.GetUtcNow();
            if (retention || now >= nextRetention)
            {
                Guard("history-retention", () => Retain(now));
                nextRetention = now + RetentionInterval;
            }

            // What the database does not have yet reaches the disk at least every interval. Normally the database
            // has taken it all (its commits are fsynced) and the next tick takes what came since; an fsync of the
            // journal while the ingest appends to it holds up those appends, so it runs only when the writer is behind.
            Guard("history-journal", () =>
            {
                journal.RotateIfFull();
                if (!caughtUp && now >= nextSync)
                {
                    journal.Sync();
                    nextSync = now + _options.FlushInterval;
                }
            });
            if (!caughtUp)
            {
                // Their windows are not all in yet: they wait for a tick that catches up.
                lock (_gate)
                {
                    _waiters.InsertRange(0, waiters);
                }

                if (written)
                {
                    // A backlog, not a failure: go on at once (a failing database waits for the next interval).
                    continue;
                }
            }
            else
            {
                foreach (TaskCompletionSource w in waiters)
                {
                    w.TrySetResult();
                }
            }

            using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            Task delay = Task.Delay(_options.FlushInterval, time, tick.Token);
            // This thread is the writer's own: blocking it costs nothing else; the delay ends with the stopping token.
            Task.WaitAny([delay, journal.Wake, requested], CancellationToken.None);
            tick.Cancel();
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        HistoryJournal? journal = Interlocked.Exchange(ref _journal, null);
        if (journal is null)
        {
            return;
        }

        // The broker has stopped (it stops before this service): write what is left, and leave nothing to replay.
        Guard("history-write", () => Drain(journal, int.MaxValue));
        Guard("history-journal", () =>
        {
            journal.Sync();
            journal.DeleteIfDrained();
        });
        journal.Dispose();
        lock (_gate)
        {
            foreach (TaskCompletionSource w in _waiters)
            {
                w.TrySetResult();
            }

            _waiters.Clear();
        }
    }

    /// <summary>Writes what the journal holds, at most <paramref name="batches"/> transactions; true when nothing is left.</summary>
    private bool Drain(HistoryJournal journal, int batches)
    {
        for (int b = 0; b < batches; b++)
        {
            int n = journal.Read(_batch);
            if (n == 0)
            {
                journal.Commit();
                ReportCorrupt(journal);
                return true;
            }

            HistoryAppendResult r;
            try
            {
                r = history.Append(_batch.AsSpan(0, n));
            }
            catch
            {
                // Read again at the next attempt: the journal keeps it until the database has it.
                journal.Rewind();
                throw;
            }
            finally
            {
                Array.Clear(_batch, 0, n);
            }

            journal.Commit();
            Interlocked.Add(ref _stored, r.Stored);
            Count("stored", r.Stored);
            Count("duplicate", r.Duplicates);
            Count("too-old", r.TooOld);
            if (r.TooOld > 0 && _logLimit.TryEnter("too-old", out long suppressed))
            {
                LogTooOld(r.TooOld, _options.RawRetention, suppressed);
            }
        }

        // Behind: the rest waits for the next tick, so the loop still gets to its fsync and retention.
        return false;
    }

    private void ReportCorrupt(HistoryJournal journal)
    {
        if (journal.DamagedSegments > _damagedReported && _logLimit.TryEnter("damaged", out long held))
        {
            LogDamaged(journal.DamagedSegments - _damagedReported, journal.Directory, held);
            _damagedReported = journal.DamagedSegments;
        }
    }

    private void Retain(DateTimeOffset now)
    {
        HistoryRetentionResult r = history.ApplyRetention(now);
        if (r.RawDeleted + r.RollupsDeleted > 0)
        {
            LogRetained(r.RawDeleted, r.RawBefore, r.RollupsDeleted, r.RollupsBefore);
        }
    }

    private static void Count(string outcome, int n)
    {
        if (n > 0)
        {
            Windows.Add(n, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    /// <summary>The history must never end the gateway: a failure is counted, logged within a limit and retried next tick.</summary>
    private bool Guard(string work, Action action)
    {
        try
        {
            action();
            return true;
        }
#pragma warning disable CA1031 // The journal keeps the windows; whatever the database does, the loop carries on and retries.
        catch (Exception e)
#pragma warning restore CA1031
        {
            GatewayMetrics.BackgroundFailures.Add(1, new KeyValuePair<string, object?>("work", work));
            if (_logLimit.TryEnter(work, out long suppressed))
            {
                LogWorkFailed(work, e, suppressed);
            }

            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "History: the writer runs at normal priority ({Reason}), so it competes with ingest for CPU")]
    private partial void LogPriority(string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "History: replaying {Segments} journal segments ({Bytes} bytes) left by the last run")]
    private partial void LogRecovering(int segments, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "History: the journal is full ({Bytes} bytes, History:MaxJournalBytes) because the database has not kept up; a window from {Site}/{Node} is not kept for the history ({Suppressed} more since the last line, counted in sensorkit_gateway_history_windows_total)")]
    private partial void LogJournalFull(long bytes, string site, string node, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "History: {Count} windows started before the raw retention ({Retention}) and were not stored: their hours are final ({Suppressed} more lines held back)")]
    private partial void LogTooOld(int count, TimeSpan retention, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "History: {Segments} journal segments in {Directory} ended in a damaged frame (a write torn by a power cut); the frames before it were replayed, the rest skipped ({Suppressed} more lines held back)")]
    private partial void LogDamaged(int segments, string directory, long suppressed);

    [LoggerMessage(Level = LogLevel.Information, Message = "History: retention deleted {Raw} windows ending by {RawBefore:O} and {Rollups} hourly rollups before {RollupsBefore:O}")]
    private partial void LogRetained(long raw, DateTimeOffset rawBefore, long rollups, DateTimeOffset rollupsBefore);

    [LoggerMessage(Level = LogLevel.Error, Message = "History: '{Work}' failed and is retried on the next tick ({Suppressed} failures not logged since the last line)")]
    private partial void LogWorkFailed(string work, Exception exception, long suppressed);
}
