using System.Text;
using Microsoft.Extensions.Logging;
using SensorKit.Node.Configuration;

namespace SensorKit.Node.Publishing;

/// <summary>
/// The node's outbox on disk: append-only segment files of CRC-framed records (<see cref="OutboxSegment"/>).
/// A record is appended with one positional write; <see cref="OutboxOptions.Fsync"/> decides when it is
/// forced to the medium. Acknowledgements and drops are appended as "settled" records in batches, so a
/// restart does not resend what the broker already has (a few may be resent; subscribers dedupe on seq).
/// A segment file is deleted as a whole once nothing in it waits any more, oldest first, so the card sees
/// sequential writes and whole-file deletes only. The newest segment is never deleted: its header carries
/// the sequence floor, so sequence numbers keep increasing across restarts even when the outbox is empty.
/// Split by job: this file has the API and the timer; recovery, the index, segments and settlement have files of their own.
/// </summary>
public sealed partial class DurableOutbox : IOutbox, IDisposable
{
    private const string LockFileName = "outbox.lock";
    private const int SettledBatch = 256;

    /// <summary>
    /// Settled records wait for the next append, up to this long: written with it, they land in the
    /// page the append dirties anyway; written alone after the sync had cleaned that page, they made the
    /// kernel write it once more. Unwritten ones only mean a few records are sent again after a crash.
    /// </summary>
    private static readonly TimeSpan SettledMaxDelay = TimeSpan.FromMinutes(5);

    private readonly OutboxOptions _options;
    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly FileStream _lockFile;
    private readonly List<Segment> _segments = [];
    private readonly List<Entry> _entries = [];
    private readonly SortedSet<long> _pendingAlerts = [];
    private readonly List<(long First, int Count)> _acknowledged = [];
    private readonly List<(long First, int Count)> _droppedRanges = [];
    private readonly ITimer _timer;
    private readonly ITimer _syncTimer;
    private readonly OutboxDeflate _deflate = new();
    private byte[] _recordBuffer = new byte[4096];
    private byte[] _deflated = new byte[4096];
    private Segment _head = null!;
    private int _first;
    private int _pending;
    private long _bytes;
    private long _nextSequence;
    private long _reservedUpTo;
    private long _dropped;
    private long _writeFailures;
    private bool _dirty;
    private bool _syncDue;
    private DateTimeOffset _settledWritten;
    private bool _disposed;
    private TaskCompletionSource _appended = NewSignal();

    private DurableOutbox(OutboxOptions options, string directory, FileStream lockFile, TimeProvider time, ILogger logger)
    {
        _options = options;
        _directory = directory;
        _lockFile = lockFile;
        _time = time;
        _logger = logger;
        _settledWritten = time.GetUtcNow();
        _timer = time.CreateTimer(static s => ((DurableOutbox)s!).OnTick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _syncTimer = time.CreateTimer(static s => ((DurableOutbox)s!).OnSyncDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string Directory => _directory;

    public long CorruptRecords { get; private set; }

    public OutboxFigures Figures
    {
        get
        {
            lock (_lock)
            {
                return new OutboxFigures(_pending, _bytes, _dropped, CorruptRecords);
            }
        }
    }

    public long NextSequence
    {
        get
        {
            lock (_lock)
            {
                return _nextSequence;
            }
        }
    }

    /// <summary>
    /// Opens (creating it if needed) and recovers the outbox folder. A folder that cannot be written,
    /// or that another node process holds, is a <see cref="ConfigurationException"/> naming the path:
    /// a node that cannot keep what it produces must not start.
    /// </summary>
    public static DurableOutbox Open(OutboxOptions options, TimeProvider time, ILogger logger)
    {
        string dir = options.ResolveDirectory();
        const string key = OutboxOptions.Section + ":Directory";
        FileStream lockFile;
        try
        {
            System.IO.Directory.CreateDirectory(dir);
            lockFile = new FileStream(Path.Combine(dir, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{key}: cannot use '{dir}': {e.Message}", e);
        }

        var outbox = new DurableOutbox(options, dir, lockFile, time, logger);
        try
        {
            outbox.Recover();
        }
        catch (ConfigurationException)
        {
            outbox.Dispose();
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            outbox.Dispose();
            throw new ConfigurationException($"{key}: cannot write to '{dir}': {e.Message}", e);
        }

        // The tick drops expired records, deletes finished segments and writes acknowledgements no append took along; the interval policy's syncs have a timer of their own.
        TimeSpan tick = options.Fsync == FsyncPolicy.Interval ? options.FsyncInterval : TimeSpan.FromSeconds(1);
        outbox._timer.Change(tick, tick);
        return outbox;
    }

    public bool TryAppend<TState>(OutboxKind kind, string topic, bool retain, in TState state, OutboxPayload<TState> payload, out long sequence)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            sequence = _nextSequence;
            if (sequence >= _reservedUpTo && !TryReserve())
            {
                _dropped++;
                return false;
            }

            ReadOnlySpan<byte> body = payload(sequence, state).Span;
            DateTimeOffset now = _time.GetUtcNow();
            int topicBytes = Encoding.UTF8.GetByteCount(topic);
            if (OutboxSegment.DataRecordSize(topicBytes, body.Length) - OutboxSegment.FrameSize > OutboxSegment.MaxBodySize)
            {
                throw new ArgumentException($"a {body.Length}-byte payload does not fit an outbox record", nameof(payload));
            }

            // Topics are at most a few hundred bytes (six levels of at most 64 characters).
            Span<byte> topicUtf8 = topicBytes <= 512 ? stackalloc byte[512] : new byte[topicBytes];
            topicUtf8 = topicUtf8[..Encoding.UTF8.GetBytes(topic, topicUtf8)];
            // Fewer bytes per record is what spares the SD card (docs/resources.md); the publisher inflates on read.
            bool deflated = _deflate.TryDeflate(topicUtf8, body, ref _deflated, out int deflatedBytes);
            ReadOnlySpan<byte> stored = deflated ? _deflated.AsSpan(0, deflatedBytes) : body;
            int size = OutboxSegment.DataRecordSize(topicBytes, stored.Length);
            if (_recordBuffer.Length < size)
            {
                _recordBuffer = new byte[Math.Max(size, _recordBuffer.Length * 2)];
            }

            Span<byte> record = _recordBuffer.AsSpan(0, size);
            OutboxSegment.WriteData(record, kind, retain, deflated, sequence, now, topicUtf8, stored);

            DropExpired(now);
            // Before the room is made, so the bound holds with them; drops made now go with the next append.
            WriteSettled();
            if (!MakeRoom(size, kind) || !TryWrite(record, out int offset))
            {
                _dropped++;
                return false;
            }

            AddEntry(new Entry(sequence, kind, retain, deflated, now, topic, _head, offset, size, size - stored.Length));
            _nextSequence++;
            _dirty = true;
            if (_options.Fsync == FsyncPolicy.EveryRecord)
            {
                SyncHead();
            }
            else if (_options.Fsync == FsyncPolicy.Interval && !_syncDue)
            {
                // One sync FsyncInterval after the first unsynced record: no record waits longer, and a window's
                // burst of records costs one fsync (a fixed tick falling inside the burst cost two).
                _syncDue = true;
                _syncTimer.Change(_options.FsyncInterval, Timeout.InfiniteTimeSpan);
            }

            signal = _appended;
            _appended = NewSignal();
        }

        signal.TrySetResult();
        return true;
    }

    public bool TryPeek(OutboxKind kind, long from, long below, out OutboxRecord record)
    {
        lock (_lock)
        {
            record = null!;
            if (_disposed || from >= below)
            {
                return false;
            }

            if (kind == OutboxKind.Alert)
            {
                // A record that cannot be read is settled by TryRead, which takes it out of the pending alerts.
                while (FirstPendingAlert(from, below) is long seq)
                {
                    if (TryRead(IndexOf(seq), out record))
                    {
                        return true;
                    }
                }

                return false;
            }

            for (int i = LowerBound(from); i < _entries.Count && _entries[i].Sequence < below; i++)
            {
                Entry e = _entries[i];
                if (!e.Settled && e.Kind == kind && TryRead(i, out record))
                {
                    return true;
                }
            }

            return false;
        }
    }

    public void Acknowledge(long sequence)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            int i = IndexOf(sequence);
            if (i < 0 || _entries[i].Settled)
            {
                return;
            }

            Settle(i, _acknowledged);
            if (_acknowledged.Count >= SettledBatch)
            {
                WriteSettled();
            }

            TrimFront();
        }
    }

    public ValueTask WaitForAppendAsync(long sequence, CancellationToken ct)
    {
        lock (_lock)
        {
            // Not async: cancelling the wait then ends the task without throwing inside (the publisher cancels one per loop).
            return _nextSequence > sequence ? ValueTask.CompletedTask : new ValueTask(_appended.Task.WaitAsync(ct));
        }
    }

    /// <summary>Writes batched acknowledgements and forces everything to the medium; called by the timer and on stop.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            WriteSettled();
            SyncHead();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _timer.Dispose();
            _syncTimer.Dispose();
            if (_head is not null)
            {
                WriteSettled();
                _dirty = true;
                if (SyncHead())
                {
                    // Everything is on the medium: the next start may trust the records for the next sequence.
                    TryWriteLease(clean: true);
                }
            }

            foreach (Segment s in _segments)
            {
                s.Close();
            }

            _disposed = true;
            _deflate.Dispose();
            _lockFile.Dispose();
        }
    }

    private void OnTick()
    {
        try
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                DateTimeOffset now = _time.GetUtcNow();
                DropExpired(now);
                if (now - _settledWritten >= SettledMaxDelay)
                {
                    WriteSettled();
                }

                TrimFront();
            }
        }
        catch (IOException e)
        {
            // The next tick or append tries again; the failure is logged, never swallowed.
            LogWriteFailed(_head.Path, e.Message);
        }
    }

    /// <summary>The interval policy's sync, <see cref="OutboxOptions.FsyncInterval"/> after the first record not yet synced.</summary>
    private void OnSyncDue()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _syncDue = !SyncHead();
            if (_syncDue)
            {
                // Failed and logged: try again after another interval instead of waiting for the next append.
                _syncTimer.Change(_options.FsyncInterval, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
