using System.Buffers.Binary;
using System.IO.Hashing;
using SensorKit.Hosting;

namespace SensorKit.Node.Publishing;

/// <summary>
/// Makes sure a sequence number is never issued twice for different data, whatever a power cut
/// takes. Subscribers dedupe on (node, seq): a reused number would make them throw away new data.
/// <para>
/// The records on disk give the next number exactly as long as the operating system did not lose
/// written data: after a clean stop (everything was synced) or a process crash or kill (the kernel
/// still had it all). Only a power cut or kernel crash can roll the files back, and only to an
/// unclean stop on an earlier boot. For that case the outbox reserves numbers ahead in blocks, each
/// reservation synced before any number from it is used; a start after such a stop continues above
/// the reservation. The cost is a gap of at most <see cref="Block"/> numbers after a power cut.
/// </para>
/// The file is replaced atomically (write, fsync, rename, fsync the folder), so it is either the
/// old or the new lease, never torn.
/// </summary>
internal sealed record SequenceLease(Guid BootId, long ReservedUpTo, bool Clean)
{
    public const string FileName = "sequence.lease";
    public const long Block = 1024;

    private const uint Magic = 0x5345_4B53; // "SKES"
    private const int Size = 4 + 16 + 8 + 1 + 4;

    /// <summary>This boot of the machine (Linux's boot_id); empty elsewhere, where every start counts as a new boot.</summary>
    public static Guid CurrentBoot { get; } = ReadBootId();

    public static SequenceLease? Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        byte[] b = File.ReadAllBytes(path);
        if (b.Length != Size || BinaryPrimitives.ReadUInt32LittleEndian(b) != Magic
            || BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(Size - 4)) != Crc32.HashToUInt32(b.AsSpan(0, Size - 4)))
        {
            return null;
        }

        return new SequenceLease(new Guid(b.AsSpan(4, 16)), BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(20)), b[28] != 0);
    }

    public void Write(string directory)
    {
        byte[] b = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(b, Magic);
        BootId.TryWriteBytes(b.AsSpan(4, 16));
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(20), ReservedUpTo);
        b[28] = Clean ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(Size - 4), Crc32.HashToUInt32(b.AsSpan(0, Size - 4)));

        string path = Path.Combine(directory, FileName);
        string temporary = path + ".new";
        using (var f = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(b);
            f.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        DirectorySync.Flush(directory);
    }

    /// <summary>
    /// The first number a start may issue, given the one the records on disk imply: above the old
    /// reservation when the last stop was unclean and the machine has rebooted since.
    /// </summary>
    public static long FirstSequence(SequenceLease? previous, long fromRecords) =>
        previous is { Clean: false } && (previous.BootId != CurrentBoot || CurrentBoot == Guid.Empty)
            ? Math.Max(fromRecords, previous.ReservedUpTo)
            : fromRecords;

    private static Guid ReadBootId()
    {
        const string path = "/proc/sys/kernel/random/boot_id";
        try
        {
            return OperatingSystem.IsLinux() && Guid.TryParse(File.ReadAllText(path).Trim(), out Guid id) ? id : Guid.Empty;
        }
        catch (IOException)
        {
            return Guid.Empty;
        }
    }
}
