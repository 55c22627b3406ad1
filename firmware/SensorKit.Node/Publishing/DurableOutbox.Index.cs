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

    private record struct Entry(long Sequence, OutboxKind Kind, bool Retain, DateTimeOffset Produced, string Topic, Segment Segment, int Offset, int Size, int PayloadOffset)
    {
        public bool Settled { get; set; }
    }
}
