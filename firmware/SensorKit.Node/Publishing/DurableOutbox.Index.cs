using System.Text;
using Microsoft.Extensions.Logging;

namespace SensorKit.Node.Publishing;

// The index: one entry per record still known, in sequence order, and how a record is found and read back.
public sealed partial class DurableOutbox
{
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

    /// <summary>
    /// Reads a waiting record back. A deflated payload that does not inflate (its CRC matched, so only
    /// a defect could cause it) is treated like a damaged record: logged, counted, and settled as dropped.
    /// </summary>
    private bool TryRead(int index, out OutboxRecord record)
    {
        Entry e = _entries[index];
        byte[] stored = new byte[e.Size - e.PayloadOffset];
        RandomAccess.Read(e.Segment.Handle, stored, e.Offset + e.PayloadOffset);
        try
        {
            byte[] payload = stored;
            if (e.Deflated)
            {
                // As in Append: topics are at most a few hundred bytes.
                int topicBytes = Encoding.UTF8.GetByteCount(e.Topic);
                Span<byte> topicUtf8 = topicBytes <= 512 ? stackalloc byte[512] : new byte[topicBytes];
                payload = _deflate.Inflate(topicUtf8[..Encoding.UTF8.GetBytes(e.Topic, topicUtf8)], stored);
            }

            record = new OutboxRecord(e.Kind, e.Sequence, e.Topic, payload, e.Retain, e.Produced);
            return true;
        }
        catch (InvalidDataException ex)
        {
            record = null!;
            CorruptRecords++;
            Settle(index, _droppedRanges);
            _dropped++;
            LogUnreadable(e.Sequence, e.Segment.Path, ex.Message);
            return false;
        }
    }

    private int IndexOf(long sequence)
    {
        int i = LowerBound(sequence);
        return i < _entries.Count && _entries[i].Sequence == sequence ? i : -1;
    }

    private long? FirstPendingAlert(long from, long below)
    {
        foreach (long seq in _pendingAlerts.GetViewBetween(from, below - 1))
        {
            return seq;
        }

        return null;
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

    private record struct Entry(long Sequence, OutboxKind Kind, bool Retain, bool Deflated, DateTimeOffset Produced, string Topic, Segment Segment, int Offset, int Size, int PayloadOffset)
    {
        public bool Settled { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox record {Sequence} in {Path} cannot be read back ({Reason}): dropped and counted as damaged")]
    private partial void LogUnreadable(long sequence, string path, string reason);
}
