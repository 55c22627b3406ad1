using Microsoft.Extensions.Logging;
using SensorKit.Node.Configuration;

namespace SensorKit.Node.Publishing;

// Recovery: rebuilds the index from the segment files at start, cuts off damaged tails, and finds the next sequence.
public sealed partial class DurableOutbox
{
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
            if (OutboxSegment.IsNewerFormat(file, out int version))
            {
                throw new ConfigurationException(
                    $"{OutboxOptions.Section}:Directory: '{path}' has outbox format {version}, and this firmware reads formats {OutboxSegment.ReadableVersions}: run the newer firmware until the outbox is empty, or move the folder away");
            }

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
                AddEntry(new Entry(r.Sequence, r.Kind, r.Retain, r.Deflated, r.Produced, r.Topic, segment, r.Offset, r.Size, r.PayloadOffset));
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox {Directory}: {Pending} records waiting from before the restart; next sequence {Next}; {Corrupt} damaged records cut off")]
    private partial void LogRecovered(string directory, int pending, long next, long corrupt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox: the node stopped without syncing on an earlier boot (power cut?); sequence numbers continue at {Next}, above the reservation, not at {FromRecords}")]
    private partial void LogAfterPowerLoss(long fromRecords, long next);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox segment {Path} is damaged at byte {Offset}: {Bytes} bytes ({Records} records) cut off, the records before them kept")]
    private partial void LogCorruptTail(string path, int offset, int bytes, int records);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox segment {Path} has no valid header ({Length} bytes, about {Records} records): discarded")]
    private partial void LogCorruptSegment(string path, int length, int records);
}
