using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Node.Configuration;
using SensorKit.Node.Publishing;
using SensorKit.Protocol;
using SensorKit.Tests.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Publishing;

/// <summary>The segment format: deflated payloads, segments of the previous format or a newer one, and damage to a deflated record.</summary>
public sealed class OutboxFormatTests : IDisposable
{
    /// <summary>
    /// A segment as the firmware before format 2 wrote it: records 1–3 ({"seq":N,"v":2N.5} on topic
    /// t/Telemetry), then record 2 acknowledged.
    /// </summary>
    private const string Format1Segment =
        "U0tPQgEAAAABAAAAAAAAAAEAAAAAAAAA6Viq0AAAAABp4QmVMwAAAAEBAQABAAAAAAAAAJKcFDKiAQAACwB0L1RlbGVtZXRyeXsic2VxIjoxLCJ2IjoyMS41fYA+XOszAAAAAQEBAAIAAAAAAAAAk5wUMqIBAAALAHQvVGVsZW1ldHJ5eyJzZXEiOjIsInYiOjIyLjV9XrnZyTMAAAABAQEAAwAAAAAAAACUnBQyogEAAAsAdC9UZWxlbWV0cnl7InNlcSI6MywidiI6MjMuNX2v1sAYEAAAAAIBAQACAAAAAAAAAAEAAAA=";

    /// <summary>
    /// A format 2 segment holding one deflated telemetry record (sequence 1, <see cref="Samples.Window"/>):
    /// pins the preset dictionary, whose every byte the stored records depend on.
    /// </summary>
    private const string Format2Segment =
        "U0tPQgIAAAABAAAAAAAAAAEAAAAAAAAAIxUDfwAAAACyNAs5swAAAAEBAwABAAAAAAAAAADijB2fAQAAPgBzZW5zb3JraXQvdjEvcmhpbmUtY29sb2duZS9ub2RlLTEvdGVsZW1ldHJ5L2JtZTI4MC90ZW1wZXJhdHVyZXUBAAAjIZBRzEaEOMQS5HCH2IIa+khWKmHLCpCMDI4MIwMjM10Dc10DwxBDI/RcgSZpiJY/UOIMM8qMDfVMjKDxZmyoZ2YIizxjQz1TpLyiZ2AOj0SoHkhMQjVRGH8A";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly string _dir = TestDirectories.Create("outbox-format");
    private readonly PayloadBuffer _buffer = new();

    private static readonly string Topic = Topics.Telemetry("rhine-cologne", "node-1", "bme280", Quantities.Temperature);

    public void Dispose() => _buffer.Dispose();

    private DurableOutbox Open(FsyncPolicy fsync = FsyncPolicy.EveryRecord) =>
        DurableOutbox.Open(new OutboxOptions { Directory = _dir, Fsync = fsync }, _time, NullLogger.Instance);

    private byte[] Window(long seq) => _buffer.Telemetry(Samples.Window() with { Sequence = seq }).ToArray();

    private long AppendWindow(DurableOutbox outbox)
    {
        Assert.True(outbox.TryAppend(OutboxKind.Telemetry, Topic, retain: true, this, static (long seq, in OutboxFormatTests t) => t._buffer.Telemetry(Samples.Window() with { Sequence = seq }), out long sequence));
        return sequence;
    }

    private static List<OutboxRecord> Waiting(DurableOutbox outbox)
    {
        var records = new List<OutboxRecord>();
        long from = 0;
        while (outbox.TryPeek(OutboxKind.Telemetry, from, long.MaxValue, out OutboxRecord r))
        {
            records.Add(r);
            from = r.Sequence + 1;
        }

        return records;
    }

    private string[] Segments() => Directory.GetFiles(_dir, "*" + OutboxSegment.Extension).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Telemetry_is_stored_deflated_in_less_than_half_its_size_and_read_back_as_sent()
    {
        using (DurableOutbox outbox = Open())
        {
            for (int i = 0; i < 20; i++)
            {
                AppendWindow(outbox);
            }

            List<OutboxRecord> waiting = Waiting(outbox);
            Assert.Equal(20, waiting.Count);
            Assert.All(waiting, r => Assert.Equal(Window(r.Sequence), r.Payload));
        }

        long asSent = Enumerable.Range(1, 20).Sum(seq => Window(seq).Length + Encoding.UTF8.GetByteCount(Topic));
        long stored = Segments().Sum(f => new FileInfo(f).Length);
        Assert.True(stored < asSent / 2, $"{stored} bytes stored for {asSent} bytes of topics and payloads");

        using DurableOutbox reopened = Open();
        List<OutboxRecord> again = Waiting(reopened);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), again.Select(r => r.Sequence));
        Assert.All(again, r => Assert.Equal(Window(r.Sequence), r.Payload));
        Assert.All(again, r => Assert.Equal(Topic, r.Topic));
    }

    [Fact]
    public void A_segment_of_the_previous_format_is_read_as_it_is_and_new_records_follow_it()
    {
        File.WriteAllBytes(Path.Combine(_dir, OutboxSegment.FileName(1)), Convert.FromBase64String(Format1Segment));

        using (DurableOutbox outbox = Open())
        {
            List<OutboxRecord> waiting = Waiting(outbox);
            Assert.Equal([1L, 3L], waiting.Select(r => r.Sequence));
            Assert.Equal("""{"seq":3,"v":23.5}""", Encoding.UTF8.GetString(waiting[1].Payload));
            Assert.Equal("t/Telemetry", waiting[1].Topic);
            Assert.Equal(0, outbox.Figures.CorruptRecords);
            Assert.Equal(4, AppendWindow(outbox));
        }

        using DurableOutbox reopened = Open();
        Assert.Equal([1L, 3L, 4L], Waiting(reopened).Select(r => r.Sequence));
        Assert.Equal(Window(4), Waiting(reopened)[^1].Payload);
    }

    [Fact]
    public void A_stored_record_of_this_format_still_reads()
    {
        File.WriteAllBytes(Path.Combine(_dir, OutboxSegment.FileName(1)), Convert.FromBase64String(Format2Segment));

        using DurableOutbox outbox = Open();
        OutboxRecord record = Assert.Single(Waiting(outbox));
        Assert.Equal(Window(1), record.Payload);
        Assert.Equal(0, outbox.Figures.CorruptRecords);
    }

    [Fact]
    public void A_segment_of_a_newer_format_stops_the_node_naming_the_key_and_file_and_is_left_as_it_is()
    {
        byte[] newer = new byte[OutboxSegment.HeaderSize];
        OutboxSegment.WriteHeader(newer, number: 1, sequenceFloor: 1);
        newer[4] = 9;
        // The header's CRC covers the version: recompute it so the header is sound, only newer.
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(newer.AsSpan(24), System.IO.Hashing.Crc32.HashToUInt32(newer.AsSpan(0, 24)));
        string path = Path.Combine(_dir, OutboxSegment.FileName(1));
        File.WriteAllBytes(path, newer);

        var e = Assert.Throws<ConfigurationException>(() => Open());

        Assert.StartsWith($"Outbox:Directory: '{path}' has outbox format 9", e.Message, StringComparison.Ordinal);
        Assert.Equal(newer, File.ReadAllBytes(path));
        // The folder is free again: the refusal released the lock.
        File.Delete(path);
        Open().Dispose();
    }

    [Fact]
    public void A_deflated_record_that_does_not_inflate_is_dropped_and_counted_and_the_next_one_read()
    {
        byte[] topic = Encoding.UTF8.GetBytes(Topic);
        byte[] garbage = [0x20, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        byte[] plain = Window(2);
        var file = new List<byte>();
        byte[] header = new byte[OutboxSegment.HeaderSize];
        OutboxSegment.WriteHeader(header, number: 1, sequenceFloor: 1);
        file.AddRange(header);
        file.AddRange(Record(1, deflated: true, garbage));
        file.AddRange(Record(2, deflated: false, plain));
        File.WriteAllBytes(Path.Combine(_dir, OutboxSegment.FileName(1)), [.. file]);

        using (DurableOutbox outbox = Open())
        {
            OutboxRecord record = Assert.Single(Waiting(outbox));
            Assert.Equal(2, record.Sequence);
            Assert.Equal(plain, record.Payload);
            Assert.Equal(1, outbox.Figures.CorruptRecords);
            Assert.Equal(1, outbox.Figures.Dropped);
        }

        // The drop is durable: the next start does not try the record again.
        using DurableOutbox reopened = Open();
        Assert.Equal([2L], Waiting(reopened).Select(r => r.Sequence));
        Assert.Equal(0, reopened.Figures.CorruptRecords);

        byte[] Record(long seq, bool deflated, byte[] payload)
        {
            byte[] r = new byte[OutboxSegment.DataRecordSize(topic.Length, payload.Length)];
            OutboxSegment.WriteData(r, OutboxKind.Telemetry, retain: true, deflated, seq, _time.GetUtcNow(), topic, payload);
            return r;
        }
    }
}
