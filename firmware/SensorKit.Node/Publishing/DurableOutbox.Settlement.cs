using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace SensorKit.Node.Publishing;

// Settlement: acknowledged, expired and evicted records are settled, settled ranges are written in batches, and
// segments nothing waits in any more are deleted.
public sealed partial class DurableOutbox
{
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

    private void WriteSettled()
    {
        WriteSettled(SettledReason.Acknowledged, _acknowledged);
        WriteSettled(SettledReason.Dropped, _droppedRanges);
        _settledWritten = _time.GetUtcNow();
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox at its bound of {MaxBytes} bytes: dropped the {Dropped} oldest telemetry records, kept {Alerts} alerts; {Total} records dropped since start")]
    private partial void LogFull(long maxBytes, int dropped, int alerts, long total);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox dropped {Count} records older than {MaxAge}; {Total} records dropped since start")]
    private partial void LogExpired(long count, TimeSpan maxAge, long total);
}
