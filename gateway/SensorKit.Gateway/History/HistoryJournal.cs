using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using SensorKit.Hosting;
using SensorKit.Protocol;

namespace SensorKit.Gateway.History;

/// <summary>
/// The write-ahead journal that makes a PUBACK safe before the window is in the database: the ingest copies each
/// window into a memory-mapped segment file (a shared mapping: the page cache has it when the copy returns, so kill -9
/// cannot take it, and no system call is made), and the history writer reads the journal back in batches, commits them
/// to the database and deletes what it committed, a segment file at a time. Replaying a window twice is harmless: the
/// store skips what it has. docs/history.md, "What a crash can cost".
/// </summary>
/// <remarks>
/// Segment files <c>000000000001.journal</c>, … hold frames <c>crc32 (u32 LE) | length (u32 LE) | body</c>, the CRC-32
/// (IEEE) over length and body, as the node's outbox frames its records, followed by zeros up to the file's mapped
/// size. Appends go to the newest segment; the writer starts a new one past <see cref="SegmentBytes"/>. One thread (the
/// writer) reads, syncs, rotates and releases. Why a mapping and not one pwrite per window: a write() that extends a
/// file waits for the file system's journal whenever anything on the disk is fsynced (the database's commits are),
/// and that stall lands on the publisher's connection.
/// </remarks>
internal sealed class HistoryJournal : IDisposable
{
    public const string FolderName = "history-journal";
    public const long SegmentBytes = 4 * 1024 * 1024;

    /// <summary>The mapped size of a segment, allocated when it is created: room for appends while the writer is slow to rotate.</summary>
    private const long SegmentCapacity = 4 * SegmentBytes;
    private const string Extension = ".journal";
    private const byte Version = 1;
    private const int MaxString = 1024;
    private const int MaxBody = 1 + 8 * 3 + 4 * 2 + 8 * 6 + 5 * (2 + MaxString * 3);
    private const int ReadChunk = 256 * 1024;

    [ThreadStatic]
    private static byte[]? t_frame;


    private readonly string _directory;
    private readonly long _maxBytes;
    private readonly int _wakeEvery;
    private readonly Lock _lock = new();
    private readonly List<Segment> _segments = [];
    private readonly byte[] _read = new byte[ReadChunk];
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private long _bytes;
    private long _sinceWake;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The writer's side: where the next read starts, and what the database has.
    private int _readSegment;
    private long _readOffset;
    private int _committedSegment;
    private long _committedOffset;

    private HistoryJournal(string directory, long maxBytes, int wakeEvery)
    {
        _directory = directory;
        _maxBytes = maxBytes;
        _wakeEvery = wakeEvery;
    }

    /// <summary>Bytes on disk in all segments.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Segments left by an earlier run (replayed first) when the journal was opened.</summary>
    public int Recovered { get; private set; }

    /// <summary>Recovered segments whose valid part ended in a damaged frame (a write torn by a power cut); the rest was skipped.</summary>
    public int DamagedSegments { get; private set; }

    public string Directory => _directory;

    /// <summary>Completes once a batch worth of windows has been appended since the last <see cref="ResetWake"/>.</summary>
    public Task Wake
    {
        get
        {
            lock (_lock)
            {
                return _wake.Task;
            }
        }
    }

    public static HistoryJournal Open(string directory, long maxBytes, int wakeEvery)
    {
        System.IO.Directory.CreateDirectory(directory);
        var journal = new HistoryJournal(directory, maxBytes, wakeEvery);
        long last = 0;
        foreach ((long number, string path) in System.IO.Directory.EnumerateFiles(directory, "*" + Extension)
            .Select(p => (Number: long.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : -1, Path: p))
            .Where(s => s.Number > 0)
            .OrderBy(s => s.Number))
        {
            // Read with plain reads: its valid part ends at the first zero length (or damage), not at the file's end.
            SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            var segment = new Segment(number, path, handle, null) { Length = RandomAccess.GetLength(handle) };
            journal._segments.Add(segment);
            journal._bytes += segment.Length;
            last = number;
        }

        journal.Recovered = journal._segments.Count;
        journal._segments.Add(journal.Create(last + 1));
        return journal;
    }

    /// <summary>
    /// Appends one window (a copy into the mapping); false when the journal is at <c>History:MaxJournalBytes</c> (the
    /// database has not kept up for a long time). Called by the ingest, on any thread.
    /// </summary>
    public bool TryAppend(in TelemetryMessage m)
    {
        byte[] frame = t_frame ??= new byte[8 + MaxBody];
        int length = Encode(m, frame.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame, Crc32.HashToUInt32(frame.AsSpan(4, 4 + length)));
        ReadOnlySpan<byte> record = frame.AsSpan(0, 8 + length);
        lock (_lock)
        {
            if (_bytes + record.Length > _maxBytes)
            {
                return false;
            }

            Segment head = _segments[^1];
            if (head.Length + record.Length > SegmentCapacity)
            {
                // The writer has not rotated for a long time (it rotates at a quarter of this): start one here.
                head = Create(head.Number + 1);
                _segments.Add(head);
            }

            head.View!.WriteArray(head.Length, frame, 0, record.Length);
            head.Length += record.Length;
            head.Unsynced = true;
            _bytes += record.Length;
            if (++_sinceWake >= _wakeEvery)
            {
                _sinceWake = 0;
                _wake.TrySetResult();
            }
        }

        return true;
    }

    /// <summary>A fresh <see cref="Wake"/>; the writer calls it before it drains, so no append goes unnoticed.</summary>
    public void ResetWake()
    {
        lock (_lock)
        {
            if (_wake.Task.IsCompleted)
            {
                _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            _sinceWake = 0;
        }
    }

    /// <summary>Reads the next windows after the last read into <paramref name="into"/>; 0 when nothing more is there.</summary>
    public int Read(Span<TelemetryMessage> into)
    {
        int count = 0;
        while (count < into.Length)
        {
            Segment segment;
            long end;
            bool head;
            lock (_lock)
            {
                segment = _segments[_readSegment];
                end = segment.Length;
                head = _readSegment == _segments.Count - 1;
            }

            if (_readOffset >= end)
            {
                if (head)
                {
                    break;
                }

                _readSegment++;
                _readOffset = 0;
                continue;
            }

            int n = segment.Read(_read, (int)Math.Min(end - _readOffset, _read.Length), _readOffset);
            int pos = 0;
            bool damaged = false;
            bool ended = false;
            while (count < into.Length && pos + 8 <= n)
            {
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_read.AsSpan(pos + 4));
                if (length == 0 && BinaryPrimitives.ReadUInt32LittleEndian(_read.AsSpan(pos)) == 0)
                {
                    // The zeros after the last frame of an earlier run's segment.
                    ended = true;
                    break;
                }

                if (length is < 0 or > MaxBody)
                {
                    damaged = true;
                    break;
                }

                if (pos + 8 + length > n)
                {
                    // Incomplete in this chunk: read on from its start, unless the segment ends here (a torn write).
                    damaged = _readOffset + pos + 8 + length > end;
                    break;
                }

                if (Crc32.HashToUInt32(_read.AsSpan(pos + 4, 4 + length)) != BinaryPrimitives.ReadUInt32LittleEndian(_read.AsSpan(pos))
                    || !TryDecode(_read.AsSpan(pos + 8, length), out into[count]))
                {
                    damaged = true;
                    break;
                }

                count++;
                pos += 8 + length;
            }

            if (!damaged && !ended && pos + 8 > n && _readOffset + n == end && n - pos > 0)
            {
                // Fewer than a frame header's bytes left at the end of the segment: torn too.
                damaged = true;
            }

            _readOffset += pos;
            if (damaged || ended)
            {
                // Only a segment of an earlier run can end early (this run's appends are whole); its rest is skipped.
                DamagedSegments += damaged ? 1 : 0;
                _readOffset = end;
            }
        }

        return count;
    }

    /// <summary>Everything read so far is in the database: segments wholly behind it are deleted.</summary>
    public void Commit()
    {
        _committedSegment = _readSegment;
        _committedOffset = _readOffset;
        while (_committedSegment > 0)
        {
            Segment done;
            lock (_lock)
            {
                done = _segments[0];
                _segments.RemoveAt(0);
                _bytes -= done.Length;
            }

            done.Dispose();
            File.Delete(done.Path);
            _committedSegment--;
            _readSegment--;
        }
    }

    /// <summary>The database refused the last batch: read it again next time.</summary>
    public void Rewind()
    {
        _readSegment = _committedSegment;
        _readOffset = _committedOffset;
    }

    /// <summary>Whether everything appended has been committed.</summary>
    public bool Drained
    {
        get
        {
            lock (_lock)
            {
                return _committedSegment == _segments.Count - 1 && _committedOffset == _segments[^1].Length;
            }
        }
    }

    /// <summary>fsync of the segments appended to since the last call: bounds what a power cut can take.</summary>
    public void Sync()
    {
        List<Segment> dirty;
        lock (_lock)
        {
            dirty = [.. _segments.Where(s => s.Unsynced)];
            foreach (Segment s in dirty)
            {
                s.Unsynced = false;
            }
        }

        foreach (Segment s in dirty)
        {
            s.View?.Flush();
            RandomAccess.FlushToDisk(s.Handle);
        }
    }

    /// <summary>Starts a new segment once the newest has grown past <see cref="SegmentBytes"/>.</summary>
    public void RotateIfFull()
    {
        Segment head;
        lock (_lock)
        {
            head = _segments[^1];
        }

        if (head.Length < SegmentBytes)
        {
            return;
        }

        Segment next = Create(head.Number + 1);
        lock (_lock)
        {
            _segments.Add(next);
        }
    }

    /// <summary>At a clean stop with everything committed: nothing is left to replay at the next start.</summary>
    public void DeleteIfDrained()
    {
        if (!Drained)
        {
            return;
        }

        lock (_lock)
        {
            foreach (Segment s in _segments)
            {
                s.Dispose();
                File.Delete(s.Path);
            }

            _segments.Clear();
            _bytes = 0;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (Segment s in _segments)
            {
                s.Dispose();
            }
        }
    }

    private Segment Create(long number)
    {
        string path = Path.Combine(_directory, number.ToString("D12", CultureInfo.InvariantCulture) + Extension);
        // Blocks allocated now (fallocate): a mapping that meets a full disk when a page is first written gets SIGBUS,
        // which would end the process; a full disk here is an IOException for the writer to log and retry.
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.None, SegmentCapacity);
        Segment segment;
        try
        {
            RandomAccess.SetLength(handle, SegmentCapacity);
            var map = MemoryMappedFile.CreateFromFile(handle, null, SegmentCapacity, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
            segment = new Segment(number, path, handle, map);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        // The new name must survive a power cut as well as the appends to it.
        DirectorySync.Flush(_directory);
        return segment;
    }

    private static int Encode(in TelemetryMessage m, Span<byte> b)
    {
        b[0] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(b[1..], m.Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(b[9..], m.WindowStart.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64LittleEndian(b[17..], m.WindowEnd.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt32LittleEndian(b[25..], m.Count);
        BinaryPrimitives.WriteInt32LittleEndian(b[29..], (int)m.Flags | (m.Backfill ? 1 << 16 : 0));
        BinaryPrimitives.WriteDoubleLittleEndian(b[33..], m.Min);
        BinaryPrimitives.WriteDoubleLittleEndian(b[41..], m.Max);
        BinaryPrimitives.WriteDoubleLittleEndian(b[49..], m.Mean);
        BinaryPrimitives.WriteDoubleLittleEndian(b[57..], m.StdDev);
        BinaryPrimitives.WriteDoubleLittleEndian(b[65..], m.First);
        BinaryPrimitives.WriteDoubleLittleEndian(b[73..], m.Last);
        int pos = 81;
        pos += WriteString(m.Site, b[pos..]);
        pos += WriteString(m.Node, b[pos..]);
        pos += WriteString(m.Sensor, b[pos..]);
        pos += WriteString(m.Quantity, b[pos..]);
        pos += WriteString(m.Unit, b[pos..]);
        return pos;
    }

    private static int WriteString(string s, Span<byte> b)
    {
        if (s.Length > MaxString)
        {
            throw new ArgumentException($"a telemetry field of {s.Length} characters is longer than the journal takes ({MaxString})");
        }

        int n = Encoding.UTF8.GetBytes(s, b[2..]);
        BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)n);
        return 2 + n;
    }

    private bool TryDecode(ReadOnlySpan<byte> b, out TelemetryMessage m)
    {
        m = default;
        if (b.Length < 81 || b[0] != Version)
        {
            return false;
        }

        int pos = 81;
        if (!TryReadString(b, ref pos, out string site) || !TryReadString(b, ref pos, out string node) || !TryReadString(b, ref pos, out string sensor)
            || !TryReadString(b, ref pos, out string quantity) || !TryReadString(b, ref pos, out string unit) || pos != b.Length)
        {
            return false;
        }

        int flags = BinaryPrimitives.ReadInt32LittleEndian(b[29..]);
        int count = BinaryPrimitives.ReadInt32LittleEndian(b[25..]);
        m = new TelemetryMessage
        {
            Site = site,
            Node = node,
            Sensor = sensor,
            Quantity = quantity,
            Unit = unit,
            Sequence = BinaryPrimitives.ReadInt64LittleEndian(b[1..]),
            WindowStart = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(b[9..])),
            WindowEnd = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(b[17..])),
            Count = count,
            Expected = count,
            Flags = (QualityFlags)(flags & 0xFFFF),
            Backfill = (flags & (1 << 16)) != 0,
            Min = BinaryPrimitives.ReadDoubleLittleEndian(b[33..]),
            Max = BinaryPrimitives.ReadDoubleLittleEndian(b[41..]),
            Mean = BinaryPrimitives.ReadDoubleLittleEndian(b[49..]),
            StdDev = BinaryPrimitives.ReadDoubleLittleEndian(b[57..]),
            First = BinaryPrimitives.ReadDoubleLittleEndian(b[65..]),
            Last = BinaryPrimitives.ReadDoubleLittleEndian(b[73..]),
        };
        return true;
    }

    /// <summary>Decodes a string, sharing one instance per distinct value: the same few ids repeat in every window.</summary>
    private bool TryReadString(ReadOnlySpan<byte> b, ref int pos, out string s)
    {
        s = string.Empty;
        if (pos + 2 > b.Length)
        {
            return false;
        }

        int n = BinaryPrimitives.ReadUInt16LittleEndian(b[pos..]);
        if (n > MaxString * 3 || pos + 2 + n > b.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> utf8 = b.Slice(pos + 2, n);
        Span<char> chars = stackalloc char[MaxString * 3];
        if (!Encoding.UTF8.TryGetChars(utf8, chars, out int written))
        {
            return false;
        }

        Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
        if (!lookup.TryGetValue(chars[..written], out string? known))
        {
            if (_strings.Count > 100_000)
            {
                _strings.Clear();
            }

            known = new string(chars[..written]);
            _strings[known] = known;
        }

        s = known;
        pos += 2 + n;
        return true;
    }

    private sealed class Segment : IDisposable
    {
        private readonly MemoryMappedFile? _map;

        public Segment(long number, string path, SafeFileHandle handle, MemoryMappedFile? map)
        {
            Number = number;
            Path = path;
            Handle = handle;
            _map = map;
            View = map?.CreateViewAccessor(0, SegmentCapacity, MemoryMappedFileAccess.ReadWrite);
        }

        public long Number { get; }

        public string Path { get; }

        public SafeFileHandle Handle { get; }

        /// <summary>The mapping appends go to; null for a segment of an earlier run, which is only read.</summary>
        public MemoryMappedViewAccessor? View { get; }

        /// <summary>Bytes of frames (this run's segments) or the file's length (an earlier run's).</summary>
        public long Length { get; set; }

        public bool Unsynced { get; set; }

        public int Read(byte[] into, int count, long offset) =>
            View is null ? RandomAccess.Read(Handle, into.AsSpan(0, count), offset) : View.ReadArray(offset, into, 0, count);

        public void Dispose()
        {
            View?.Dispose();
            _map?.Dispose();
            Handle.Dispose();
        }
    }
}
