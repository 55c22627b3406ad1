using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace SensorKit.Node.Publishing;

/// <summary>
/// Compresses a record's payload as raw Deflate (RFC 1951) against a preset dictionary: the protocol's
/// JSON skeletons followed by the record's own topic (which names site, node, sensor and quantity again).
/// A telemetry window of 400–600 bytes deflated alone keeps about 63 % of its size, against the dictionary
/// about 33 %: its keys and repeated names become short back-references. Each record stays independent
/// (no state carried from one record to the next), so a torn or damaged record costs only itself.
/// <para>
/// zlib (the system's libz.so.1, a dependency of .NET on Linux) rather than <c>DeflateStream</c>: the
/// stream has no preset dictionary and allocates a fresh compressor of some 300 KB per record, which
/// the C allocator's arenas kept (about 5 MB more resident memory in the soak). One deflate and one
/// inflate state live as long as the outbox and are reset per record.
/// </para>
/// Stored as <c>length as sent (u32 LE) | raw deflate</c>. The dictionary is part of the segment format
/// (version 2): changing one byte of it makes every stored record unreadable. Not thread-safe; the
/// outbox calls it under its lock.
/// </summary>
internal sealed unsafe class OutboxDeflate : IDisposable
{
    public const int LengthSize = 4;

    /// <summary>Most used last: Deflate codes near distances in fewer bits.</summary>
    private static ReadOnlySpan<byte> Dictionary =>
        """{"schema":"sensorkit.alert.v1","alertId":"","rule":"","state":"raised","audience":"public","site":"","subject":"","nodes":[""],"quantity":"","unit":"","value":,"threshold":,"hysteresis":,"severity":"Moderate","certainty":"Observed","urgency":"Expected","headline":"","time":"","raisedAt":"","revision":1,"status":"Actual","measure":"value","quorum":1,"nodesReporting":1,"capIdentifier":"SK-"}{"schema":"sensorkit.telemetry.v1","site":"","node":"","sensor":"","quantity":"","unit":"Cel","seq":,"start":"T00:00:00Z","end":"T00:00:00Z","count":60,"expected":60,"errors":0,"min":,"max":,"mean":,"stddev":0,"first":,"last":,"ratePerHour":,"rawMean":,"suppressed":,"calibrated":false,"quality":"doubtful","flags":["gaps","read-errors","out-of-range","stuck","stale"],"backfill":false}{"schema":"sensorkit.telemetry.v1","site":"","node":"","sensor":"","quantity":"","unit":"","seq":,"start":"","end":"","count":60,"expected":60,"errors":0,"min":,"max":,"mean":,"stddev":,"first":,"last":,"ratePerHour":,"calibrated":false,"quality":"good","flags":[],"backfill":false}sensorkit/v1/"""u8;

    /// <summary>Shorter payloads would gain a few bytes at most; they are stored as sent.</summary>
    private const int SmallestDeflated = 64;

    // zlib's constants (zlib.h). Negative window bits: raw deflate, no zlib header or checksum (the frame has a CRC).
    private const string Zlib = "libz.so.1";
    private const int Finish = 4;
    private const int Ok = 0;
    private const int StreamEnd = 1;
    private const int Deflated = 8;
    private const int DefaultStrategy = 0;
    private const int Level = 6;

    // A 4 KB window holds the dictionary and any telemetry or alert payload; memory level 6 sizes the
    // hash for inputs of a few KB. Together about 50 KB for the compressor instead of 270 KB.
    private const int DeflateWindowBits = -12;
    private const int MemoryLevel = 6;

    // The inflater takes any window, so records written with another window size still read.
    private const int InflateWindowBits = -15;

    private readonly ZStream* _deflate;
    private readonly ZStream* _inflate;
    private byte[] _prefix = new byte[Dictionary.Length + 512];
    private bool _disposed;

    public OutboxDeflate()
    {
        Dictionary.CopyTo(_prefix);
        _deflate = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
        _inflate = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
        try
        {
            // zlib checks only the major version and the struct's size.
            fixed (byte* version = "1.2.11\0"u8)
            {
                Check(Native.DeflateInit2(_deflate, Level, Deflated, DeflateWindowBits, MemoryLevel, DefaultStrategy, version, sizeof(ZStream)), "deflateInit2");
                Check(Native.InflateInit2(_inflate, InflateWindowBits, version, sizeof(ZStream)), "inflateInit2");
            }
        }
        catch (Exception)
        {
            // libz missing or out of memory: free what was allocated, then let the start fail.
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Deflates <paramref name="payload"/> into <paramref name="destination"/> (length first) if that
    /// makes it smaller; false when it does not (small or random payloads), and the payload is stored as it is.
    /// </summary>
    public bool TryDeflate(ReadOnlySpan<byte> topicUtf8, ReadOnlySpan<byte> payload, ref byte[] destination, out int written)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        written = 0;
        if (payload.Length < SmallestDeflated)
        {
            return false;
        }

        // Room for the length and a payload one byte shorter than as sent; a longer result is not kept anyway.
        int room = LengthSize + payload.Length - 1;
        if (destination.Length < room)
        {
            destination = new byte[Math.Max(room, destination.Length * 2)];
        }

        ReadOnlySpan<byte> prefix = Prefix(topicUtf8);
        Check(Native.DeflateReset(_deflate), "deflateReset");
        fixed (byte* dictionary = prefix)
        fixed (byte* input = payload)
        fixed (byte* output = destination)
        {
            Check(Native.DeflateSetDictionary(_deflate, dictionary, (uint)prefix.Length), "deflateSetDictionary");
            _deflate->NextIn = input;
            _deflate->AvailIn = (uint)payload.Length;
            _deflate->NextOut = output + LengthSize;
            _deflate->AvailOut = (uint)(room - LengthSize);
            int result = Native.Deflate(_deflate, Finish);
            _deflate->NextIn = null;
            _deflate->NextOut = null;
            if (result != StreamEnd)
            {
                // Out of room: it would not have been smaller.
                return false;
            }

            written = room - (int)_deflate->AvailOut;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)payload.Length);
        return true;
    }

    /// <summary>The payload as sent. <see cref="InvalidDataException"/> when the stored bytes do not inflate to exactly the length stored with them.</summary>
    public byte[] Inflate(ReadOnlySpan<byte> topicUtf8, ReadOnlySpan<byte> stored)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (stored.Length <= LengthSize)
        {
            throw new InvalidDataException($"a deflated payload of {stored.Length} bytes is too short");
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(stored);
        if (length is 0 or > OutboxSegment.MaxBodySize)
        {
            throw new InvalidDataException($"a deflated payload claims {length} bytes");
        }

        byte[] payload = new byte[length];
        ReadOnlySpan<byte> prefix = Prefix(topicUtf8);
        Check(Native.InflateReset(_inflate), "inflateReset");
        fixed (byte* dictionary = prefix)
        fixed (byte* input = stored)
        fixed (byte* output = payload)
        {
            Check(Native.InflateSetDictionary(_inflate, dictionary, (uint)prefix.Length), "inflateSetDictionary");
            _inflate->NextIn = input + LengthSize;
            _inflate->AvailIn = (uint)(stored.Length - LengthSize);
            _inflate->NextOut = output;
            _inflate->AvailOut = length;
            int result = Native.Inflate(_inflate, Finish);
            uint leftIn = _inflate->AvailIn;
            uint leftOut = _inflate->AvailOut;
            _inflate->NextIn = null;
            _inflate->NextOut = null;
            if (result != StreamEnd || leftIn != 0 || leftOut != 0)
            {
                throw new InvalidDataException($"a deflated payload did not inflate to the {length} bytes stored with it (zlib {result}, {leftIn} bytes left over, {leftOut} missing)");
            }
        }

        return payload;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_deflate is not null)
        {
            if (_deflate->State != null)
            {
                _ = Native.DeflateEnd(_deflate);
            }

            NativeMemory.Free(_deflate);
        }

        if (_inflate is not null)
        {
            if (_inflate->State != null)
            {
                _ = Native.InflateEnd(_inflate);
            }

            NativeMemory.Free(_inflate);
        }
    }

    /// <summary>The dictionary followed by the topic: what both sides preset.</summary>
    private ReadOnlySpan<byte> Prefix(ReadOnlySpan<byte> topicUtf8)
    {
        if (_prefix.Length < Dictionary.Length + topicUtf8.Length)
        {
            byte[] larger = new byte[Dictionary.Length + topicUtf8.Length];
            Dictionary.CopyTo(larger);
            _prefix = larger;
        }

        topicUtf8.CopyTo(_prefix.AsSpan(Dictionary.Length));
        return _prefix.AsSpan(0, Dictionary.Length + topicUtf8.Length);
    }

    private static void Check(int result, string call)
    {
        if (result != Ok)
        {
            // Only wrong arguments or no memory make these fail: a defect, not damage on disk.
            throw new InvalidOperationException($"zlib {call} returned {result}");
        }
    }

    /// <summary>zlib's z_stream; <see cref="CULong"/> is C's unsigned long, 8 bytes on 64-bit Linux and 4 on 32-bit.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public CULong TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public CULong TotalOut;
        public nint Message;
        public void* State;
        public nint Alloc;
        public nint Free;
        public nint Opaque;
        public int DataType;
        public CULong Adler;
        public CULong Reserved;
    }

    /// <summary>zlib's functions, as zlib.h declares them.</summary>
    private static class Native
    {
        [DllImport(Zlib, EntryPoint = "deflateInit2_")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int DeflateInit2(ZStream* stream, int level, int method, int windowBits, int memoryLevel, int strategy, byte* version, int streamSize);

        [DllImport(Zlib, EntryPoint = "deflateSetDictionary")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int DeflateSetDictionary(ZStream* stream, byte* dictionary, uint length);

        [DllImport(Zlib, EntryPoint = "deflate")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Deflate(ZStream* stream, int flush);

        [DllImport(Zlib, EntryPoint = "deflateReset")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int DeflateReset(ZStream* stream);

        [DllImport(Zlib, EntryPoint = "deflateEnd")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int DeflateEnd(ZStream* stream);

        [DllImport(Zlib, EntryPoint = "inflateInit2_")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int InflateInit2(ZStream* stream, int windowBits, byte* version, int streamSize);

        [DllImport(Zlib, EntryPoint = "inflateSetDictionary")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int InflateSetDictionary(ZStream* stream, byte* dictionary, uint length);

        [DllImport(Zlib, EntryPoint = "inflate")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Inflate(ZStream* stream, int flush);

        [DllImport(Zlib, EntryPoint = "inflateReset")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int InflateReset(ZStream* stream);

        [DllImport(Zlib, EntryPoint = "inflateEnd")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int InflateEnd(ZStream* stream);
    }
}
