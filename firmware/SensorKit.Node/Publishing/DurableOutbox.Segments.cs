using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using SensorKit.Hosting;

namespace SensorKit.Node.Publishing;

// Segments: the files records are appended to, their rotation and sync, and the sequence lease beside them.
public sealed partial class DurableOutbox
{
    private void DeleteSegment(Segment segment)
    {
        segment.Close();
        File.Delete(segment.Path);
        _segments.Remove(segment);
        _bytes -= segment.Length;
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
        // Space for the whole segment is allocated now (fallocate, the file's length stays that of its records),
        // so a sync only writes the records, not a block allocation as the file grows.
        SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.None, _options.SegmentBytes);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox cannot write {Path}: {Reason}. Records that cannot be stored are dropped and counted; sampling goes on")]
    private partial void LogWriteFailed(string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox writes again after {Failures} failed writes")]
    private partial void LogWriteRecovered(long failures);
}
