using SensorKit.Node.Publishing;

namespace SensorKit.Tests.Support;

/// <summary>Reads an outbox folder without changing it, as the next start would see it: the sequences still waiting.</summary>
internal static class OutboxInspector
{
    public static SortedSet<long> Waiting(string directory)
    {
        var records = new List<ScannedRecord>();
        var settled = new List<(long First, int Count)>();
        foreach (string path in Directory.GetFiles(directory, "*" + OutboxSegment.Extension))
        {
            OutboxSegment.Scan(File.ReadAllBytes(path), records, settled);
        }

        var waiting = new SortedSet<long>(records.Select(r => r.Sequence));
        foreach ((long first, int count) in settled)
        {
            for (long s = first; s < first + count; s++)
            {
                waiting.Remove(s);
            }
        }

        return waiting;
    }

    /// <summary>Bytes in the folder's segment files; a segment the node deletes while they are counted counts 0.</summary>
    public static long Bytes(string directory) =>
        Directory.GetFiles(directory, "*" + OutboxSegment.Extension).Sum(Length);

    private static long Length(string file)
    {
        try
        {
            return new FileInfo(file).Length;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }
}
