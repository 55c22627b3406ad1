using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using SensorKit.Hosting;
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
/// </summary>
public sealed partial class DurableOutbox : IOutbox, IDisposable
{
    private const string LockFileName = "outbox.lock";
    private const int SettledBatch = 256;

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
    private byte[] _recordBuffer = new byte[4096];
    private Segment _head = null!;
    private int _first;
    private int _pending;
    private long _bytes;
    private long _nextSequence;
    private long _reservedUpTo;
    private long _dropped;
    private long _writeFailures;
    private bool _dirty;
    private bool _disposed;
    private TaskCompletionSource _appended = NewSignal();

    private DurableOutbox(OutboxOptions options, string directory, FileStream lockFile, TimeProvider time, ILogger logger)
    {
        _options = options;
        _directory = directory;
        _lockFile = lockFile;
        _time = time;
        _logger = logger;
        _timer = time.CreateTimer(static s => ((DurableOutbox)s!).OnTick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            outbox.Dispose();
            throw new ConfigurationException($"{key}: cannot write to '{dir}': {e.Message}", e);
        }

        // The tick writes batched acknowledgements, drops expired records and, with the interval policy, forces the appends to disk.
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
            int size = OutboxSegment.DataRecordSize(topicBytes, body.Length);
            if (size - OutboxSegment.FrameSize > OutboxSegment.MaxBodySize)
            {
                throw new ArgumentException($"a {body.Length}-byte payload does not fit an outbox record", nameof(payload));
            }

            if (_recordBuffer.Length < size)
            {
                _recordBuffer = new byte[Math.Max(size, _recordBuffer.Length * 2)];
            }

            Span<byte> record = _recordBuffer.AsSpan(0, size);
            // Topics are at most a few hundred bytes (six levels of at most 64 characters).
            Span<byte> topicUtf8 = topicBytes <= 512 ? stackalloc byte[512] : new byte[topicBytes];
            topicUtf8 = topicUtf8[..Encoding.UTF8.GetBytes(topic, topicUtf8)];
            OutboxSegment.WriteData(record, kind, retain, sequence, now, topicUtf8, body);

            DropExpired(now);
            if (!MakeRoom(size, kind) || !TryWrite(record, out int offset))
            {
                _dropped++;
                return false;
            }

            AddEntry(new Entry(sequence, kind, retain, now, topic, _head, offset, size, size - body.Length));
            _nextSequence++;
            _dirty = true;
            if (_options.Fsync == FsyncPolicy.EveryRecord)
            {
                SyncHead();
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
                foreach (long seq in _pendingAlerts.GetViewBetween(from, below - 1))
                {
                    record = Read(_entries[IndexOf(seq)]);
                    return true;
                }

                return false;
            }

            for (int i = LowerBound(from); i < _entries.Count && _entries[i].Sequence < below; i++)
            {
                Entry e = _entries[i];
                if (!e.Settled && e.Kind == kind)
                {
                    record = Read(e);
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

                DropExpired(_time.GetUtcNow());
                WriteSettled();
                if (_options.Fsync == FsyncPolicy.Interval)
                {
                    SyncHead();
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

    private void Recover()
    {
        var records = new List<(ScannedRecord Record, Segment Segment)>();
        var settled = new List<(long First, int Count)>();
        var scanned = new List<ScannedRecord>();
        long floor = 1;
        long lastNumber = 0;
        // Records in a segment whose header is gone had unknown numbers: skip past as many as could have fit.
        long unknownNumbers = 0;
        foreach (string path in System.IO.Directory.EnumerateFiles(_directory, "*" + OutboxSegment.Extension).Order(StringComparer.Ordinal))
        {
            if (!OutboxSegment.TryParseNumber(path, out long number))
            {
                continue;
            }

            lastNumber = Math.Max(lastNumber, number);
            byte[] file = File.ReadAllBytes(path);
            scanned.Clear();
            ScanResult scan = OutboxSegment.Scan(file, scanned, settled);
            if (!scan.HeaderValid)
            {
                // A header shorter than its size is a segment cut off while it was created: it held nothing yet.
                if (file.Length >= OutboxSegment.HeaderSize)
                {
                    int damaged = OutboxSegment.CountDamaged(file, OutboxSegment.HeaderSize);
                    CorruptRecords += Math.Max(1, damaged);
                    unknownNumbers += file.Length / OutboxSegment.MinDataRecordSize;
                    LogCorruptSegment(path, file.Length, damaged);
                }

                File.Delete(path);
                continue;
            }

            long highest = scan.SequenceFloor - 1;
            foreach (ScannedRecord r in scanned)
            {
                highest = Math.Max(highest, r.Sequence);
            }

            if (scan.DamagedRecords > 0)
            {
                // The cut-off records may have been sent already: never issue their numbers again.
                int lostBytes = file.Length - scan.ValidLength;
                floor = Math.Max(floor, highest + 1 + ((lostBytes + OutboxSegment.MinDataRecordSize - 1) / OutboxSegment.MinDataRecordSize));
                CorruptRecords += scan.DamagedRecords;
                LogCorruptTail(path, scan.ValidLength, file.Length - scan.ValidLength, scan.DamagedRecords);
                using var truncate = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None);
                truncate.SetLength(scan.ValidLength);
                truncate.Flush(flushToDisk: true);
            }

            floor = Math.Max(floor, scan.SequenceFloor);
            var segment = new Segment(number, path, scan.ValidLength);
            _segments.Add(segment);
            _bytes += scan.ValidLength;
            foreach (ScannedRecord r in scanned)
            {
                records.Add((r, segment));
                floor = Math.Max(floor, r.Sequence + 1);
            }
        }

        foreach ((long first, int count) in settled)
        {
            floor = Math.Max(floor, first + count);
        }

        // Settled ranges are few and sorted by time, i.e. mostly by sequence; merge them for one pass.
        settled.Sort();
        records.Sort((a, b) => a.Record.Sequence.CompareTo(b.Record.Sequence));
        int s = 0;
        long previous = long.MinValue;
        foreach ((ScannedRecord r, Segment segment) in records)
        {
            // A record copied forward to make room may still exist in its old segment: keep one.
            if (r.Sequence == previous)
            {
                continue;
            }

            previous = r.Sequence;
            while (s < settled.Count && settled[s].First + settled[s].Count <= r.Sequence)
            {
                s++;
            }

            bool gone = false;
            for (int k = s; k < settled.Count && settled[k].First <= r.Sequence; k++)
            {
                if (r.Sequence < settled[k].First + settled[k].Count)
                {
                    gone = true;
                    break;
                }
            }

            if (!gone)
            {
                AddEntry(new Entry(r.Sequence, r.Kind, r.Retain, r.Produced, r.Topic, segment, r.Offset, r.Size, r.PayloadOffset));
            }
        }

        floor += unknownNumbers;
        SequenceLease? lease = SequenceLease.Read(_directory);
        _nextSequence = SequenceLease.FirstSequence(lease, floor);
        if (_nextSequence > floor)
        {
            LogAfterPowerLoss(floor, _nextSequence);
        }

        _reservedUpTo = _nextSequence + SequenceLease.Block;
        new SequenceLease(SequenceLease.CurrentBoot, _reservedUpTo, Clean: false).Write(_directory);
        CreateHead(lastNumber + 1);
        TrimFront();
        if (_pending > 0 || CorruptRecords > 0)
        {
            LogRecovered(_directory, _pending, _nextSequence, CorruptRecords);
        }
    }

    private void AddEntry(Entry e)
    {
        _entries.Add(e);
        e.Segment.Pending++;
        _pending++;
        if (e.Kind == OutboxKind.Alert)
        {
            _pendingAlerts.Add(e.Sequence);
        }
    }

    private void Settle(int index, List<(long First, int Count)> into)
    {
        Entry e = _entries[index];
        CollectionsMarshal.AsSpan(_entries)[index].Settled = true;
        e.Segment.Pending--;
        _pending--;
        if (e.Kind == OutboxKind.Alert)
        {
            _pendingAlerts.Remove(e.Sequence);
        }

        // Acknowledgements arrive mostly in order: extend the last range when they do.
        if (into.Count > 0 && into[^1].First + into[^1].Count == e.Sequence)
        {
            into[^1] = (into[^1].First, into[^1].Count + 1);
        }
        else
        {
            into.Add((e.Sequence, 1));
        }
    }

    /// <summary>Deletes leading segments nothing waits in, and forgets the settled entries before the first waiting one.</summary>
    private void TrimFront()
    {
        while (_first < _entries.Count && _entries[_first].Settled)
        {
            _first++;
        }

        while (_segments.Count > 1 && _segments[0] != _head && _segments[0].Pending == 0)
        {
            DeleteSegment(_segments[0]);
        }

        if (_first > 1024 && _first > _entries.Count / 2)
        {
            _entries.RemoveRange(0, _first);
            _first = 0;
        }
    }

    private void DeleteSegment(Segment segment)
    {
        segment.Close();
        File.Delete(segment.Path);
        _segments.Remove(segment);
        _bytes -= segment.Length;
    }

    /// <summary>Drops waiting records older than <see cref="OutboxOptions.MaxAge"/>.</summary>
    private void DropExpired(DateTimeOffset now)
    {
        DateTimeOffset limit = now - _options.MaxAge;
        long before = _dropped;
        for (int i = _first; i < _entries.Count && _entries[i].Produced < limit; i++)
        {
            if (!_entries[i].Settled)
            {
                Settle(i, _droppedRanges);
                _dropped++;
            }
        }

        if (_dropped > before)
        {
            LogExpired(_dropped - before, _options.MaxAge, _dropped);
            TrimFront();
        }
    }

    /// <summary>
    /// Frees the oldest segments until <paramref name="size"/> more bytes fit in <see cref="OutboxOptions.MaxBytes"/>:
    /// their telemetry is dropped (counted), their alerts are copied forward. False when a telemetry
    /// record cannot get room (everything left is newer or an alert).
    /// </summary>
    private bool MakeRoom(int size, OutboxKind kind)
    {
        while (_bytes + size > _options.MaxBytes)
        {
            Segment oldest = _segments[0];
            if (oldest == _head)
            {
                // Only the open segment is left: an alert still goes in, telemetry does not.
                return kind != OutboxKind.Telemetry;
            }

            int droppedHere = 0;
            var alerts = new List<Entry>();
            for (int i = _first; i < _entries.Count; i++)
            {
                Entry e = _entries[i];
                if (e.Segment != oldest || e.Settled)
                {
                    continue;
                }

                if (e.Kind == OutboxKind.Telemetry)
                {
                    Settle(i, _droppedRanges);
                    droppedHere++;
                }
                else
                {
                    alerts.Add(e);
                }
            }

            _dropped += droppedHere;
            foreach (Entry alert in alerts)
            {
                if (!CopyForward(alert))
                {
                    // The alert could not be moved: its segment stays, and there is no room for this record.
                    LogFull(_options.MaxBytes, droppedHere, alerts.Count, _dropped);
                    return false;
                }
            }

            DeleteSegment(oldest);
            LogFull(_options.MaxBytes, droppedHere, alerts.Count, _dropped);
            TrimFront();
        }

        return true;
    }

    /// <summary>Re-appends a waiting alert to the open segment so its old segment can go.</summary>
    private bool CopyForward(Entry alert)
    {
        byte[] record = new byte[alert.Size];
        RandomAccess.Read(alert.Segment.Handle, record, alert.Offset);
        if (!TryWrite(record, out int offset))
        {
            return false;
        }

        int index = IndexOf(alert.Sequence);
        alert.Segment.Pending--;
        _head.Pending++;
        CollectionsMarshal.AsSpan(_entries)[index] = alert with { Segment = _head, Offset = offset };
        return true;
    }

    /// <summary>Appends framed bytes to the open segment, starting a new one when it is full. A failed write is cut off again, logged, and reported as false.</summary>
    private bool TryWrite(ReadOnlySpan<byte> record, out int offset)
    {
        offset = 0;
        try
        {
            if (_head.Length > OutboxSegment.HeaderSize && _head.Length + record.Length > _options.SegmentBytes)
            {
                Rotate();
            }

            offset = (int)_head.Length;
            RandomAccess.Write(_head.Handle, record, offset);
        }
        catch (IOException e)
        {
            // Disk full or failing: leave no torn record behind, say so once per episode, keep sampling.
            _writeFailures++;
            if (_writeFailures == 1 || _writeFailures % 1000 == 0)
            {
                LogWriteFailed(_head.Path, e.Message);
            }

            TryTruncate(_head, _head.Length);
            return false;
        }

        if (_writeFailures > 0)
        {
            LogWriteRecovered(_writeFailures);
            _writeFailures = 0;
        }

        _head.Length += record.Length;
        _bytes += record.Length;
        return true;
    }

    private void TryTruncate(Segment segment, long length)
    {
        try
        {
            RandomAccess.SetLength(segment.Handle, length);
        }
        catch (IOException e)
        {
            // A torn tail left here is found and cut off at the next start.
            LogWriteFailed(segment.Path, e.Message);
        }
    }

    private void WriteSettled()
    {
        WriteSettled(SettledReason.Acknowledged, _acknowledged);
        WriteSettled(SettledReason.Dropped, _droppedRanges);
    }

    private void WriteSettled(SettledReason reason, List<(long First, int Count)> ranges)
    {
        // A frame holds at most ushort.MaxValue ranges; batches are far smaller.
        for (int start = 0; start < ranges.Count; start += ushort.MaxValue)
        {
            int count = Math.Min(ushort.MaxValue, ranges.Count - start);
            byte[] record = OutboxSegment.Settled(reason, CollectionsMarshal.AsSpan(ranges).Slice(start, count));
            if (!TryWrite(record, out _))
            {
                // Not written: these records are sent once more after a restart, which dedupe absorbs.
                break;
            }
        }

        ranges.Clear();
    }

    /// <summary>Forces the open segment to the medium if anything was appended since the last time.</summary>
    private bool SyncHead()
    {
        if (!_dirty)
        {
            return true;
        }

        try
        {
            RandomAccess.FlushToDisk(_head.Handle);
            _dirty = false;
            return true;
        }
        catch (IOException e)
        {
            LogWriteFailed(_head.Path, e.Message);
            return false;
        }
    }

    /// <summary>Reserves the next block of sequence numbers on disk before any of them is used (<see cref="SequenceLease"/>).</summary>
    private bool TryReserve()
    {
        _reservedUpTo = _nextSequence + SequenceLease.Block;
        if (TryWriteLease(clean: false))
        {
            return true;
        }

        _reservedUpTo = _nextSequence;
        return false;
    }

    private bool TryWriteLease(bool clean)
    {
        try
        {
            new SequenceLease(SequenceLease.CurrentBoot, _reservedUpTo, clean).Write(_directory);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogWriteFailed(Path.Combine(_directory, SequenceLease.FileName), e.Message);
            return false;
        }
    }

    private void Rotate()
    {
        // Whatever the policy, a finished segment is synced (once per segment, cheap), so a clean stop
        // only has to sync the open one.
        SyncHead();
        CreateHead(_head.Number + 1);
        _dirty = false;
    }

    private void CreateHead(long number)
    {
        string path = Path.Combine(_directory, OutboxSegment.FileName(number));
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        Span<byte> header = stackalloc byte[OutboxSegment.HeaderSize];
        OutboxSegment.WriteHeader(header, number, _nextSequence);
        try
        {
            RandomAccess.Write(handle, header, 0);
            RandomAccess.FlushToDisk(handle);
        }
        catch (IOException)
        {
            handle.Dispose();
            File.Delete(path);
            throw;
        }

        // The new file's name must survive a power cut too, or its records would be unreachable.
        DirectorySync.Flush(_directory);
        _head = new Segment(number, path, OutboxSegment.HeaderSize) { Handle = handle };
        _segments.Add(_head);
        _bytes += OutboxSegment.HeaderSize;
    }

    private static OutboxRecord Read(in Entry e)
    {
        byte[] payload = new byte[e.Size - e.PayloadOffset];
        RandomAccess.Read(e.Segment.Handle, payload, e.Offset + e.PayloadOffset);
        return new OutboxRecord(e.Kind, e.Sequence, e.Topic, payload, e.Retain, e.Produced);
    }

    private int IndexOf(long sequence)
    {
        int i = LowerBound(sequence);
        return i < _entries.Count && _entries[i].Sequence == sequence ? i : -1;
    }

    /// <summary>The first index at or after <see cref="_first"/> whose sequence is not below <paramref name="sequence"/>.</summary>
    private int LowerBound(long sequence)
    {
        int lo = _first;
        int hi = _entries.Count;
        while (lo < hi)
        {
            int mid = lo + ((hi - lo) / 2);
            if (_entries[mid].Sequence < sequence)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private record struct Entry(long Sequence, OutboxKind Kind, bool Retain, DateTimeOffset Produced, string Topic, Segment Segment, int Offset, int Size, int PayloadOffset)
    {
        public bool Settled { get; set; }
    }

    private sealed class Segment(long number, string path, long length)
    {
        private SafeFileHandle? _handle;

        public long Number { get; } = number;
        public string Path { get; } = path;
        public long Length { get; set; } = length;

        /// <summary>Records in this segment still waiting for their PUBACK.</summary>
        public int Pending { get; set; }

        /// <summary>Opened on first read for recovered segments; the open segment's handle is set when it is created.</summary>
        public SafeFileHandle Handle
        {
            get => _handle ??= File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            init => _handle = value;
        }

        public void Close()
        {
            _handle?.Dispose();
            _handle = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox {Directory}: {Pending} records waiting from before the restart; next sequence {Next}; {Corrupt} damaged records cut off")]
    private partial void LogRecovered(string directory, int pending, long next, long corrupt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox: the node stopped without syncing on an earlier boot (power cut?); sequence numbers continue at {Next}, above the reservation, not at {FromRecords}")]
    private partial void LogAfterPowerLoss(long fromRecords, long next);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox segment {Path} is damaged at byte {Offset}: {Bytes} bytes ({Records} records) cut off, the records before them kept")]
    private partial void LogCorruptTail(string path, int offset, int bytes, int records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox segment {Path} has no valid header ({Length} bytes, about {Records} records): discarded")]
    private partial void LogCorruptSegment(string path, int length, int records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox at its bound of {MaxBytes} bytes: dropped the {Dropped} oldest telemetry records, kept {Alerts} alerts; {Total} records dropped since start")]
    private partial void LogFull(long maxBytes, int dropped, int alerts, long total);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox dropped {Count} records older than {MaxAge}; {Total} records dropped since start")]
    private partial void LogExpired(long count, TimeSpan maxAge, long total);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox cannot write {Path}: {Reason}. Records that cannot be stored are dropped and counted; sampling goes on")]
    private partial void LogWriteFailed(string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox writes again after {Failures} failed writes")]
    private partial void LogWriteRecovered(long failures);
}
