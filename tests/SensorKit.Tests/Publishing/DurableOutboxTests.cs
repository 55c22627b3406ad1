using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Node.Configuration;
using SensorKit.Node.Publishing;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Publishing;

/// <summary>The outbox on disk: what survives a restart, what a torn or damaged file costs, and what the bounds drop.</summary>
public sealed class DurableOutboxTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly string _dir = TestDirectories.Create("outbox-unit");

    private OutboxOptions Options(Action<OutboxOptions>? change = null)
    {
        var o = new OutboxOptions { Directory = _dir, Fsync = FsyncPolicy.EveryRecord };
        change?.Invoke(o);
        return o;
    }

    private DurableOutbox Open(OutboxOptions? options = null) => DurableOutbox.Open(options ?? Options(), _time, NullLogger.Instance);

    private static long Append(DurableOutbox outbox, OutboxKind kind = OutboxKind.Telemetry, int padding = 0)
    {
        Assert.True(outbox.TryAppend(kind, $"t/{kind}", retain: true, padding, static (long seq, in int pad) => Encoding.UTF8.GetBytes($"{{\"seq\":{seq},\"pad\":\"{Filler(seq, pad)}\"}}"), out long sequence));
        return sequence;
    }

    /// <summary>Letters that do not deflate much, so a padded record takes about the room its padding says.</summary>
    private static string Filler(long seq, int length) =>
        new(new Random((int)seq).GetItems<char>("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/", length));

    private static List<long> Waiting(DurableOutbox outbox, OutboxKind kind = OutboxKind.Telemetry)
    {
        var seqs = new List<long>();
        long from = 0;
        while (outbox.TryPeek(kind, from, long.MaxValue, out OutboxRecord r))
        {
            Assert.Contains($"\"seq\":{r.Sequence},", Encoding.UTF8.GetString(r.Payload), StringComparison.Ordinal);
            seqs.Add(r.Sequence);
            from = r.Sequence + 1;
        }

        return seqs;
    }

    private string[] Segments() => Directory.GetFiles(_dir, "*.seg").Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Sequence_numbers_keep_increasing_across_restarts_even_when_everything_was_acknowledged()
    {
        using (DurableOutbox outbox = Open())
        {
            Assert.Equal([1L, 2L, 3L], [Append(outbox), Append(outbox), Append(outbox)]);
            outbox.Acknowledge(1);
            outbox.Acknowledge(2);
            outbox.Acknowledge(3);
            Assert.Equal(0, outbox.Figures.Queued);
        }

        using (DurableOutbox outbox = Open())
        {
            Assert.Equal(0, outbox.Figures.Queued);
            Assert.Equal(4, Append(outbox));
        }

        using (DurableOutbox outbox = Open())
        {
            Assert.Equal(5, outbox.NextSequence);
            Assert.Equal([4L], Waiting(outbox));
        }
    }

    [Fact]
    public void What_was_not_acknowledged_is_there_after_a_restart_in_order_and_what_was_is_not()
    {
        using (DurableOutbox outbox = Open())
        {
            for (int i = 0; i < 10; i++)
            {
                Append(outbox);
            }

            outbox.Acknowledge(3);
            outbox.Acknowledge(7);
        }

        using DurableOutbox reopened = Open();
        Assert.Equal([1L, 2L, 4L, 5L, 6L, 8L, 9L, 10L], Waiting(reopened));
        Assert.Equal(8, reopened.Figures.Queued);
        Assert.Equal(0, reopened.Figures.CorruptRecords);
    }

    [Theory]
    [InlineData(0)] // stored as sent
    [InlineData(200)] // stored deflated
    public void A_torn_last_record_is_cut_off_the_records_before_it_kept_and_the_damage_counted_once(int padding)
    {
        using (DurableOutbox outbox = Open())
        {
            for (int i = 0; i < 5; i++)
            {
                Append(outbox, padding: padding);
            }
        }

        // A power cut in the middle of the last write: the file ends inside record 5.
        string segment = Segments().Last(f => new FileInfo(f).Length > OutboxSegment.HeaderSize);
        long length = new FileInfo(segment).Length;
        // {"seq":N,"pad":"…"} as sent is 18 bytes and the padding.
        Assert.True(padding == 0 || length < OutboxSegment.HeaderSize + (5 * OutboxSegment.DataRecordSize("t/Telemetry".Length, 18 + padding)), "the padded records were stored deflated");
        using (var f = new FileStream(segment, FileMode.Open))
        {
            f.SetLength(length - 7);
        }

        using (DurableOutbox outbox = Open())
        {
            Assert.Equal([1L, 2L, 3L, 4L], Waiting(outbox));
            Assert.Equal(1, outbox.Figures.CorruptRecords);
            // Record 5 may have been sent before the damage: its number is not issued again.
            long next = Append(outbox);
            Assert.True(next > 5, $"next sequence {next}");
        }

        using DurableOutbox again = Open();
        Assert.Equal(0, again.Figures.CorruptRecords);
        Assert.Equal(5, Waiting(again).Count);
    }

    [Fact]
    public void A_flipped_bit_fails_the_crc_the_valid_prefix_is_kept_and_the_records_cut_off_are_counted()
    {
        using (DurableOutbox outbox = Open())
        {
            for (int i = 0; i < 6; i++)
            {
                Append(outbox);
            }
        }

        // Flip one bit in the payload of the fourth record.
        string segment = Segments().Last(f => new FileInfo(f).Length > OutboxSegment.HeaderSize);
        byte[] bytes = File.ReadAllBytes(segment);
        int fourth = IndexOfNth(bytes, "\"seq\":4,"u8, 1);
        bytes[fourth + 3] ^= 0x04;
        File.WriteAllBytes(segment, bytes);

        using DurableOutbox reopened = Open();
        Assert.Equal([1L, 2L, 3L], Waiting(reopened));
        // Records 4, 5 and 6 followed the damage and were cut off with it.
        Assert.Equal(3, reopened.Figures.CorruptRecords);
        Assert.True(reopened.NextSequence >= 7, $"next sequence {reopened.NextSequence} reuses a number that may have been sent");
    }

    [Fact]
    public void A_segment_with_a_damaged_header_is_discarded_and_counted()
    {
        using (DurableOutbox outbox = Open(Options(o => o.SegmentBytes = 4096)))
        {
            for (int i = 0; i < 40; i++)
            {
                Append(outbox, padding: 200);
            }
        }

        string first = Segments()[0];
        byte[] bytes = File.ReadAllBytes(first);
        bytes[1] ^= 0xFF;
        File.WriteAllBytes(first, bytes);

        using DurableOutbox reopened = Open(Options(o => o.SegmentBytes = 4096));
        List<long> waiting = Waiting(reopened);
        Assert.True(reopened.Figures.CorruptRecords > 0);
        Assert.Equal(40 - reopened.Figures.CorruptRecords, waiting.Count);
        Assert.Equal(40, waiting[^1]);
        Assert.True(reopened.NextSequence >= 41);
    }

    [Fact]
    public void After_a_power_cut_sequence_numbers_continue_above_the_reservation_so_none_is_reused()
    {
        using (DurableOutbox outbox = Open(Options(o => o.Fsync = FsyncPolicy.OperatingSystem)))
        {
            for (int i = 0; i < 5; i++)
            {
                Append(outbox);
            }
        }

        // What a power cut leaves with the OperatingSystem policy: the last records never reached the
        // card (they may have been sent already), and the lease still says "running" from the earlier boot.
        string segment = Segments().Last(f => new FileInfo(f).Length > OutboxSegment.HeaderSize);
        byte[] bytes = File.ReadAllBytes(segment);
        using (var f = new FileStream(segment, FileMode.Open))
        {
            // Cut at the start of record 4: its frame and fixed fields, the topic "t/Telemetry" and the payload's "{" precede "seq".
            f.SetLength(IndexOfNth(bytes, "\"seq\":4,"u8, 1) - OutboxSegment.MinDataRecordSize - "t/Telemetry".Length - 1);
        }

        new SequenceLease(Guid.NewGuid(), ReservedUpTo: 1 + SequenceLease.Block, Clean: false).Write(_dir);

        using DurableOutbox reopened = Open();
        Assert.Equal([1L, 2L, 3L], Waiting(reopened));
        Assert.Equal(0, reopened.Figures.CorruptRecords);
        Assert.Equal(1 + SequenceLease.Block, Append(reopened));
    }

    [Fact]
    public void After_a_crash_on_the_same_boot_the_records_give_the_next_sequence_without_a_gap()
    {
        using (DurableOutbox outbox = Open(Options(o => o.Fsync = FsyncPolicy.OperatingSystem)))
        {
            for (int i = 0; i < 5; i++)
            {
                Append(outbox);
            }
        }

        // A killed process: the kernel kept every write, the lease says "running" on this boot.
        new SequenceLease(SequenceLease.CurrentBoot, ReservedUpTo: 1 + SequenceLease.Block, Clean: false).Write(_dir);

        using DurableOutbox reopened = Open();
        Assert.Equal(6, Append(reopened));
    }

    [Fact]
    public void Numbers_are_reserved_ahead_in_blocks()
    {
        using DurableOutbox outbox = Open(Options(o => o.Fsync = FsyncPolicy.OperatingSystem));
        for (int i = 0; i < SequenceLease.Block + 10; i++)
        {
            Append(outbox);
        }

        SequenceLease lease = SequenceLease.Read(_dir)!;
        Assert.False(lease.Clean);
        Assert.True(lease.ReservedUpTo > outbox.NextSequence);
        outbox.Dispose();
        Assert.True(SequenceLease.Read(_dir)!.Clean);
    }

    [Fact]
    public void When_full_the_oldest_telemetry_is_dropped_and_counted_and_alerts_survive()
    {
        OutboxOptions options = Options(o =>
        {
            o.SegmentBytes = 4096;
            o.MaxBytes = 4 * 4096;
        });
        using DurableOutbox outbox = Open(options);
        var alerts = new List<long>();
        for (int i = 0; i < 400; i++)
        {
            if (i % 50 == 0)
            {
                alerts.Add(Append(outbox, OutboxKind.Alert, padding: 100));
            }

            Append(outbox, padding: 100);
        }

        OutboxFigures figures = outbox.Figures;
        Assert.True(figures.Bytes <= options.MaxBytes, $"{figures.Bytes} bytes above the bound {options.MaxBytes}");
        Assert.True(figures.Dropped > 0);
        Assert.Equal(alerts, Waiting(outbox, OutboxKind.Alert));
        List<long> telemetry = Waiting(outbox);
        Assert.Equal(400 + alerts.Count, figures.Queued + figures.Dropped);
        // What is left is the newest telemetry, without holes: only the oldest went.
        Assert.Equal(408, telemetry[^1]);
        long[] all = telemetry.Concat(alerts).Order().ToArray();
        Assert.Equal(Enumerable.Range((int)telemetry[0], 409 - (int)telemetry[0]).Select(i => (long)i).Except(alerts), telemetry);
        Assert.Equal(figures.Queued, all.Length);

        // The drops are durable: a restart does not bring the dropped records back.
        outbox.Dispose();
        using DurableOutbox reopened = Open(options);
        Assert.Equal(telemetry, Waiting(reopened));
        Assert.Equal(alerts, Waiting(reopened, OutboxKind.Alert));
    }

    [Fact]
    public void Records_older_than_the_age_bound_are_dropped_and_counted()
    {
        using DurableOutbox outbox = Open(Options(o => o.MaxAge = TimeSpan.FromHours(1)));
        Append(outbox);
        Append(outbox);
        _time.Advance(TimeSpan.FromMinutes(50));
        Append(outbox);
        _time.Advance(TimeSpan.FromMinutes(15));

        Assert.Equal([3L], Waiting(outbox));
        Assert.Equal(2, outbox.Figures.Dropped);
    }

    [Fact]
    public void Acknowledged_segments_are_deleted_and_the_disk_use_shrinks()
    {
        OutboxOptions options = Options(o => o.SegmentBytes = 4096);
        using DurableOutbox outbox = Open(options);
        var seqs = Enumerable.Range(0, 100).Select(_ => Append(outbox, padding: 100)).ToList();
        int segmentsBefore = Segments().Length;
        long bytesBefore = outbox.Figures.Bytes;
        seqs.ForEach(outbox.Acknowledge);

        Assert.True(segmentsBefore >= 4, $"{segmentsBefore} segments");
        Assert.Single(Segments());
        Assert.True(outbox.Figures.Bytes < 4096, $"{outbox.Figures.Bytes} bytes left of {bytesBefore}");
    }

    [Fact]
    public void Peek_finds_the_oldest_record_in_a_sequence_range_and_skips_other_kinds()
    {
        using DurableOutbox outbox = Open();
        long t1 = Append(outbox);
        long a1 = Append(outbox, OutboxKind.Alert);
        long t2 = Append(outbox);
        long t3 = Append(outbox);
        outbox.Acknowledge(t2);

        Assert.True(outbox.TryPeek(OutboxKind.Telemetry, 0, long.MaxValue, out OutboxRecord r));
        Assert.Equal(t1, r.Sequence);
        Assert.True(outbox.TryPeek(OutboxKind.Telemetry, t1 + 1, long.MaxValue, out r));
        Assert.Equal(t3, r.Sequence);
        Assert.False(outbox.TryPeek(OutboxKind.Telemetry, t1 + 1, t3, out _));
        Assert.True(outbox.TryPeek(OutboxKind.Alert, 0, long.MaxValue, out r));
        Assert.Equal(a1, r.Sequence);
        Assert.Equal("t/Alert", r.Topic);
        Assert.True(r.Retain);
        Assert.Equal(_time.GetUtcNow(), r.Produced);
    }

    [Fact]
    public async Task Waiting_for_an_append_completes_when_one_arrives()
    {
        using DurableOutbox outbox = Open();
        long next = outbox.NextSequence;
        Task wait = outbox.WaitForAppendAsync(next, TestContext.Current.CancellationToken).AsTask();
        Assert.False(wait.IsCompleted);

        Append(outbox);

        await wait.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.True(outbox.WaitForAppendAsync(next, TestContext.Current.CancellationToken).AsTask().IsCompleted);
    }

    [Fact]
    public void A_folder_that_cannot_be_created_stops_the_node_naming_the_key_and_path()
    {
        string file = Path.Combine(_dir, "not-a-folder");
        File.WriteAllText(file, "x");
        string target = Path.Combine(file, "outbox");

        var e = Assert.Throws<ConfigurationException>(() => Open(Options(o => o.Directory = target)));

        Assert.StartsWith($"Outbox:Directory: cannot use '{target}':", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_another_node_process_holds_is_refused()
    {
        using DurableOutbox first = Open();

        var e = Assert.Throws<ConfigurationException>(() => Open());

        Assert.Contains(_dir, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Acknowledgements_are_written_with_the_next_append_or_after_five_minutes_at_the_latest()
    {
        DurableOutbox outbox = Open(Options(o => o.Fsync = FsyncPolicy.Interval));
        long first = Append(outbox);
        _time.Advance(TimeSpan.FromSeconds(1));
        outbox.Acknowledge(first);
        long bytes = outbox.Figures.Bytes;

        // Nothing appended since the sync: the acknowledgement is held, the synced page not touched again.
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(bytes, outbox.Figures.Bytes);
        Assert.Contains(first, OutboxInspector.Waiting(_dir));

        // The next append takes it along. Reading the folder as the next start would, without a clean stop:
        long second = Append(outbox);
        Assert.Equal([second], OutboxInspector.Waiting(_dir));

        // Without appends it is written five minutes after the last settled record at the latest.
        outbox.Acknowledge(second);
        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.Contains(second, OutboxInspector.Waiting(_dir));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(OutboxInspector.Waiting(_dir));
        outbox.Dispose();
    }

    private static int IndexOfNth(byte[] haystack, ReadOnlySpan<byte> needle, int n)
    {
        int from = 0;
        for (int i = 0; i < n; i++)
        {
            int at = haystack.AsSpan(from).IndexOf(needle);
            Assert.True(at >= 0);
            from += at + (i < n - 1 ? needle.Length : 0);
        }

        return from;
    }
}
