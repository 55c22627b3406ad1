using System.Buffers.Binary;
using System.IO.Compression;

namespace SensorKit.Node.Publishing;

/// <summary>
/// Compresses a record's payload with Deflate against a preset dictionary: the protocol's JSON
/// skeletons followed by the record's own topic (which names site, node, sensor and quantity again).
/// A payload of 400–600 bytes alone deflates to about 63 %; against the dictionary to about 33 %,
/// because its keys and repeated names become short back-references. Each record stays independent
/// (no state carried from one record to the next), so a torn or damaged record costs only itself.
/// <para>
/// .NET's Deflate has no preset-dictionary call, so the dictionary is primed: the encoder deflates the
/// dictionary, sync-flushes (which ends a block on a byte boundary) and keeps only what follows; the
/// decoder puts the dictionary in front as stored (uncompressed) blocks and skips its bytes in the
/// output. Back-references point into the uncompressed history, so any encoding of the prefix works.
/// </para>
/// Stored as <c>length as sent (u32 LE) | deflate tail</c>. The dictionary is part of the segment
/// format (version 2): changing one byte of it makes every stored record unreadable.
/// </summary>
internal sealed class OutboxDeflate : IDisposable
{
    public const int LengthSize = 4;

    /// <summary>Most used last: Deflate codes near distances in fewer bits.</summary>
    private static ReadOnlySpan<byte> Dictionary =>
        """{"schema":"sensorkit.alert.v1","alertId":"","rule":"","state":"raised","audience":"public","site":"","subject":"","nodes":[""],"quantity":"","unit":"","value":,"threshold":,"hysteresis":,"severity":"Moderate","certainty":"Observed","urgency":"Expected","headline":"","time":"","raisedAt":"","revision":1,"status":"Actual","measure":"value","quorum":1,"nodesReporting":1,"capIdentifier":"SK-"}{"schema":"sensorkit.telemetry.v1","site":"","node":"","sensor":"","quantity":"","unit":"Cel","seq":,"start":"T00:00:00Z","end":"T00:00:00Z","count":60,"expected":60,"errors":0,"min":,"max":,"mean":,"stddev":0,"first":,"last":,"ratePerHour":,"rawMean":,"suppressed":,"calibrated":false,"quality":"doubtful","flags":["gaps","read-errors","out-of-range","stuck","stale"],"backfill":false}{"schema":"sensorkit.telemetry.v1","site":"","node":"","sensor":"","quantity":"","unit":"","seq":,"start":"","end":"","count":60,"expected":60,"errors":0,"min":,"max":,"mean":,"stddev":,"first":,"last":,"ratePerHour":,"calibrated":false,"quality":"good","flags":[],"backfill":false}sensorkit/v1/"""u8;

    /// <summary>Shorter payloads would gain a few bytes at most; they are stored as sent.</summary>
    private const int SmallestDeflated = 64;

    /// <summary>A stored block holds at most this many bytes.</summary>
    private const int StoredBlockMax = ushort.MaxValue;

    private readonly MemoryStream _output = new();

    /// <summary>
    /// Deflates <paramref name="payload"/> into <paramref name="destination"/> (length first) if that
    /// makes it smaller; false when it does not (small or random payloads), and the payload is stored as it is.
    /// </summary>
    public bool TryDeflate(ReadOnlySpan<byte> topicUtf8, ReadOnlySpan<byte> payload, ref byte[] destination, out int written)
    {
        written = 0;
        if (payload.Length < SmallestDeflated)
        {
            return false;
        }

        _output.SetLength(0);
        int primed;
        using (var deflate = new DeflateStream(_output, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(Dictionary);
            deflate.Write(topicUtf8);
            deflate.Flush();
            primed = (int)_output.Length;
            deflate.Write(payload);
        }

        int tail = (int)_output.Length - primed;
        if (LengthSize + tail >= payload.Length)
        {
            return false;
        }

        written = LengthSize + tail;
        if (destination.Length < written)
        {
            destination = new byte[Math.Max(written, destination.Length * 2)];
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)payload.Length);
        _output.GetBuffer().AsSpan(primed, tail).CopyTo(destination.AsSpan(LengthSize));
        return true;
    }

    public void Dispose() => _output.Dispose();

    /// <summary>The payload as sent. <see cref="InvalidDataException"/> when the stored bytes do not inflate to exactly the length stored with them.</summary>
    public static byte[] Inflate(ReadOnlySpan<byte> topicUtf8, ReadOnlySpan<byte> stored)
    {
        if (stored.Length <= LengthSize)
        {
            throw new InvalidDataException($"a deflated payload of {stored.Length} bytes is too short");
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(stored);
        if (length > OutboxSegment.MaxBodySize)
        {
            throw new InvalidDataException($"a deflated payload claims {length} bytes");
        }

        int prefixLength = Dictionary.Length + topicUtf8.Length;
        int blocks = (prefixLength + StoredBlockMax - 1) / StoredBlockMax;
        byte[] input = new byte[prefixLength + (blocks * 5) + stored.Length - LengthSize];
        byte[] prefix = [.. Dictionary, .. topicUtf8];
        int at = 0;
        for (int from = 0; from < prefixLength; from += StoredBlockMax)
        {
            int size = Math.Min(StoredBlockMax, prefixLength - from);
            // A stored block, not the last: BFINAL 0, BTYPE 00, then LEN and its one's complement.
            input[at] = 0;
            BinaryPrimitives.WriteUInt16LittleEndian(input.AsSpan(at + 1), (ushort)size);
            BinaryPrimitives.WriteUInt16LittleEndian(input.AsSpan(at + 3), (ushort)~size);
            prefix.AsSpan(from, size).CopyTo(input.AsSpan(at + 5));
            at += 5 + size;
        }

        stored[LengthSize..].CopyTo(input.AsSpan(at));
        byte[] output = new byte[prefixLength + (int)length];
        using var inflate = new DeflateStream(new MemoryStream(input, writable: false), CompressionMode.Decompress);
        int read = inflate.ReadAtLeast(output, output.Length, throwOnEndOfStream: false);
        if (read != output.Length || inflate.Read(stackalloc byte[1]) != 0)
        {
            throw new InvalidDataException($"a deflated payload did not inflate to the {length} bytes stored with it");
        }

        return output[prefixLength..];
    }
}
