using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace SensorKit.Node.Publishing;

/// <summary>
/// The outbox's file format (docs/outbox.md). A segment is one append-only file:
/// a 32-byte header, then records. Every record is framed as
/// <c>crc32 (u32) | length (u32) | body (length bytes)</c>, little-endian, where the CRC-32
/// (IEEE 802.3, as in zip and PNG) covers the length and the body. A power cut can leave a torn
/// last record; a failing SD card can flip bits. Either shows up as a short frame or a CRC
/// mismatch, and reading stops there: the valid prefix is kept, the rest is counted and cut off.
/// </summary>
internal static class OutboxSegment
{
    public const int HeaderSize = 32;
    public const int FrameSize = 8;

    /// <summary>No record comes near this (payloads are at most 64 KiB); a larger length is damage, not data.</summary>
    public const int MaxBodySize = 1024 * 1024;

    public const string Extension = ".seg";

    private const uint Magic = 0x424F_4B53; // "SKOB" little-endian
    // Version 2 added deflated payloads (OutboxDeflate); a version 1 segment has none and reads as before.
    private const ushort Version = 2;
    private const ushort OldestReadable = 1;

    // Body layouts, after the one-byte record type.
    private const byte TypeData = 1;
    private const byte TypeSettled = 2;
    private const int DataFixedSize = 1 + 1 + 1 + 1 + 8 + 8 + 2; // type, kind, flags, reserved, seq, produced (unix ms), topic length
    private const byte FlagRetain = 1;
    private const byte FlagDeflated = 2;
    private const int SettledFixedSize = 1 + 1 + 2; // type, reason, range count
    private const int RangeSize = 8 + 4;

    /// <summary>The smallest a data record can be; bounds how many records a number of damaged bytes held.</summary>
    public const int MinDataRecordSize = FrameSize + DataFixedSize;

    public static string FileName(long number) => number.ToString("D12", CultureInfo.InvariantCulture) + Extension;

    public static bool TryParseNumber(string path, out long number) =>
        long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out number);

    /// <summary>The header: magic, version, the segment's number and the sequence floor (no record in it or after it has a lower sequence).</summary>
    public static void WriteHeader(Span<byte> header, long number, long sequenceFloor)
    {
        header[..HeaderSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], number);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], sequenceFloor);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], Crc32.HashToUInt32(header[..24]));
    }

    public static bool TryReadHeader(ReadOnlySpan<byte> file, out long sequenceFloor)
    {
        sequenceFloor = 0;
        if (file.Length < HeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(file) != Magic
            || BinaryPrimitives.ReadUInt16LittleEndian(file[4..]) is < OldestReadable or > Version
            || BinaryPrimitives.ReadUInt32LittleEndian(file[24..]) != Crc32.HashToUInt32(file[..24]))
        {
            return false;
        }

        sequenceFloor = BinaryPrimitives.ReadInt64LittleEndian(file[16..]);
        return true;
    }

    /// <summary>A sound header of a format newer than this code reads: a downgraded firmware must refuse the folder, not discard it as damaged.</summary>
    public static bool IsNewerFormat(ReadOnlySpan<byte> file, out int version)
    {
        version = file.Length >= HeaderSize ? BinaryPrimitives.ReadUInt16LittleEndian(file[4..]) : 0;
        return version > Version
            && BinaryPrimitives.ReadUInt32LittleEndian(file) == Magic
            && BinaryPrimitives.ReadUInt32LittleEndian(file[24..]) == Crc32.HashToUInt32(file[..24]);
    }

    public static string ReadableVersions => $"{OldestReadable}-{Version}";

    /// <summary>Bytes a data record takes on disk, frame included; <paramref name="payloadBytes"/> as stored.</summary>
    public static int DataRecordSize(int topicBytes, int payloadBytes) => FrameSize + DataFixedSize + topicBytes + payloadBytes;

    /// <summary>
    /// Writes a framed data record into <paramref name="destination"/>, which must be <see cref="DataRecordSize"/> long.
    /// <paramref name="payload"/> is as stored: as sent, or <see cref="OutboxDeflate"/>'s form when <paramref name="deflated"/>.
    /// </summary>
    public static void WriteData(Span<byte> destination, OutboxKind kind, bool retain, bool deflated, long sequence, DateTimeOffset produced, ReadOnlySpan<byte> topicUtf8, ReadOnlySpan<byte> payload)
    {
        Span<byte> body = destination[FrameSize..];
        body[0] = TypeData;
        body[1] = (byte)kind;
        body[2] = (byte)((retain ? FlagRetain : 0) | (deflated ? FlagDeflated : 0));
        body[3] = 0;
        BinaryPrimitives.WriteInt64LittleEndian(body[4..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(body[12..], produced.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt16LittleEndian(body[20..], checked((ushort)topicUtf8.Length));
        topicUtf8.CopyTo(body[DataFixedSize..]);
        payload.CopyTo(body[(DataFixedSize + topicUtf8.Length)..]);
        Frame(destination);
    }

    /// <summary>A record saying these sequences left the outbox (acknowledged or dropped), so a restart does not send them again.</summary>
    public static byte[] Settled(SettledReason reason, ReadOnlySpan<(long First, int Count)> ranges)
    {
        byte[] record = new byte[FrameSize + SettledFixedSize + (ranges.Length * RangeSize)];
        Span<byte> body = record.AsSpan(FrameSize);
        body[0] = TypeSettled;
        body[1] = (byte)reason;
        BinaryPrimitives.WriteUInt16LittleEndian(body[2..], checked((ushort)ranges.Length));
        for (int i = 0; i < ranges.Length; i++)
        {
            Span<byte> r = body[(SettledFixedSize + (i * RangeSize))..];
            BinaryPrimitives.WriteInt64LittleEndian(r, ranges[i].First);
            BinaryPrimitives.WriteInt32LittleEndian(r[8..], ranges[i].Count);
        }

        Frame(record);
        return record;
    }

    private static void Frame(Span<byte> record)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(record.Length - FrameSize));
        BinaryPrimitives.WriteUInt32LittleEndian(record, Crc32.HashToUInt32(record[4..]));
    }

    /// <summary>
    /// Reads a whole segment. Stops at the first short frame, implausible length, CRC mismatch or
    /// unreadable body; <see cref="ScanResult.ValidLength"/> is where the damage starts and
    /// <see cref="ScanResult.DamagedRecords"/> how many records the rest appears to hold
    /// (at least one), found by following the length fields as far as they stay plausible.
    /// </summary>
    public static ScanResult Scan(ReadOnlySpan<byte> file, List<ScannedRecord> records, List<(long First, int Count)> settled)
    {
        if (!TryReadHeader(file, out long floor))
        {
            return new ScanResult(false, 0, 0, 0);
        }

        int offset = HeaderSize;
        while (offset < file.Length)
        {
            if (!TryReadRecord(file, offset, out int size, records, settled))
            {
                return new ScanResult(true, floor, offset, CountDamaged(file, offset));
            }

            offset += size;
        }

        return new ScanResult(true, floor, offset, 0);
    }

    private static bool TryReadRecord(ReadOnlySpan<byte> file, int offset, out int size, List<ScannedRecord> records, List<(long First, int Count)> settled)
    {
        size = 0;
        ReadOnlySpan<byte> rest = file[offset..];
        if (rest.Length < FrameSize)
        {
            return false;
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(rest[4..]);
        if (length is 0 or > MaxBodySize || length > rest.Length - FrameSize)
        {
            return false;
        }

        ReadOnlySpan<byte> covered = rest.Slice(4, 4 + (int)length);
        if (Crc32.HashToUInt32(covered) != BinaryPrimitives.ReadUInt32LittleEndian(rest))
        {
            return false;
        }

        ReadOnlySpan<byte> body = covered[4..];
        size = FrameSize + (int)length;
        switch (body[0])
        {
            case TypeData when body.Length >= DataFixedSize:
                int topicLength = BinaryPrimitives.ReadUInt16LittleEndian(body[20..]);
                var kind = (OutboxKind)body[1];
                if (DataFixedSize + topicLength > body.Length || !Enum.IsDefined(kind))
                {
                    return false;
                }

                records.Add(new ScannedRecord(
                    kind,
                    (body[2] & FlagRetain) != 0,
                    (body[2] & FlagDeflated) != 0,
                    BinaryPrimitives.ReadInt64LittleEndian(body[4..]),
                    DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(body[12..])),
                    Encoding.UTF8.GetString(body.Slice(DataFixedSize, topicLength)),
                    offset,
                    size,
                    FrameSize + DataFixedSize + topicLength));
                return true;
            case TypeSettled when body.Length >= SettledFixedSize:
                int count = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
                if (SettledFixedSize + (count * RangeSize) != body.Length)
                {
                    return false;
                }

                for (int i = 0; i < count; i++)
                {
                    ReadOnlySpan<byte> r = body[(SettledFixedSize + (i * RangeSize))..];
                    settled.Add((BinaryPrimitives.ReadInt64LittleEndian(r), BinaryPrimitives.ReadInt32LittleEndian(r[8..])));
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>How many records the bytes from <paramref name="offset"/> appear to hold, following the length fields while they stay plausible; at least one.</summary>
    public static int CountDamaged(ReadOnlySpan<byte> file, int offset)
    {
        int count = 0;
        while (offset < file.Length)
        {
            count++;
            if (file.Length - offset < FrameSize)
            {
                break;
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(file[(offset + 4)..]);
            if (length is 0 or > MaxBodySize)
            {
                break;
            }

            offset += FrameSize + (int)length;
        }

        return count;
    }
}

internal readonly record struct ScanResult(bool HeaderValid, long SequenceFloor, int ValidLength, int DamagedRecords);

/// <summary>A data record found on disk: where it is, and where its payload starts.</summary>
internal readonly record struct ScannedRecord(OutboxKind Kind, bool Retain, bool Deflated, long Sequence, DateTimeOffset Produced, string Topic, int Offset, int Size, int PayloadOffset);

internal enum SettledReason : byte
{
    Acknowledged = 1,
    Dropped = 2,
}
