using System.Globalization;

namespace SensorKit.Benchmarks.Soak;

/// <summary>One look at the node process: /proc figures plus the runtime counters at that moment.</summary>
internal sealed record SoakRow(
    TimeSpan Elapsed,
    double CpuSeconds,
    long RssKb,
    long RssAnonKb,
    long RssFileKb,
    int Threads,
    long WriteBytes,
    long WriteCalls,
    long Fsyncs,
    double Gen0,
    double Gen1,
    double Gen2,
    double HeapMb,
    double CommittedMb,
    double Jitted,
    double Exceptions,
    double Timers)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // Linux reports CPU time in clock ticks of USER_HZ, 100 on every architecture the node runs on.
    private const double ClockTicks = 100;

    public const string CsvHeader = "minutes,cpu_s,rss_kb,rss_anon_kb,rss_file_kb,threads,write_bytes,write_calls,fsyncs,gen0,gen1,gen2,heap_mb,committed_mb,jitted,exceptions,timers";

    public static SoakRow Read(int pid, TimeSpan elapsed, RuntimeCounters? runtime, string? fsyncLog)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name, which is in parentheses and may hold spaces.
        string[] f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        double cpu = (long.Parse(f[11], Inv) + long.Parse(f[12], Inv)) / ClockTicks;
        Dictionary<string, long> status = Fields($"/proc/{pid}/status", ':');
        Dictionary<string, long> io = Fields($"/proc/{pid}/io", ':');
        long fsyncs = fsyncLog is not null && File.Exists(fsyncLog)
            ? File.ReadLines(fsyncLog).Count(l => l.Contains("sync", StringComparison.Ordinal) && !l.Contains("resumed", StringComparison.Ordinal))
            : -1;
        return new SoakRow(
            elapsed,
            cpu,
            status.GetValueOrDefault("VmRSS"),
            status.GetValueOrDefault("RssAnon"),
            status.GetValueOrDefault("RssFile"),
            (int)status.GetValueOrDefault("Threads"),
            io.GetValueOrDefault("write_bytes"),
            io.GetValueOrDefault("syscw"),
            fsyncs,
            runtime?.Sum("gen-0-gc-count") ?? double.NaN,
            runtime?.Sum("gen-1-gc-count") ?? double.NaN,
            runtime?.Sum("gen-2-gc-count") ?? double.NaN,
            runtime?.Last("gc-heap-size") ?? double.NaN,
            runtime?.Last("gc-committed") ?? double.NaN,
            runtime?.Last("methods-jitted-count") ?? double.NaN,
            runtime?.Sum("exception-count") ?? double.NaN,
            runtime?.Last("active-timer-count") ?? double.NaN);
    }

    private static Dictionary<string, long> Fields(string path, char separator)
    {
        var values = new Dictionary<string, long>();
        foreach (string line in File.ReadLines(path))
        {
            int i = line.IndexOf(separator, StringComparison.Ordinal);
            if (i > 0 && long.TryParse(line[(i + 1)..].Trim().Split(' ')[0], NumberStyles.Integer, Inv, out long v))
            {
                values[line[..i]] = v;
            }
        }

        return values;
    }

    public static void PrintHeader(TextWriter o) =>
        o.WriteLine("   min   cpu s  cpu %   rss MB  anon MB thr  written kB  fsyncs   gc0  gc1  gc2  heap MB  comm MB  jitted  +jit  exc  timers");

    public void Print(TextWriter o, SoakRow? before)
    {
        double cpuPercent = before is null ? double.NaN : 100 * (CpuSeconds - before.CpuSeconds) / (Elapsed - before.Elapsed).TotalSeconds;
        double newJit = before is null ? double.NaN : Jitted - before.Jitted;
        o.WriteLine(string.Create(Inv, $"{Elapsed.TotalMinutes,6:F1} {CpuSeconds,7:F2} {cpuPercent,6:F3} {RssKb / 1024.0,8:F1} {RssAnonKb / 1024.0,8:F1} {Threads,3} {WriteBytes / 1024.0,11:F1} {Fsyncs,7} {Gen0,5} {Gen1,4} {Gen2,4} {HeapMb,8:F2} {CommittedMb,8:F2} {Jitted,7} {newJit,5} {Exceptions,4} {Timers,7}"));
    }

    public string Csv() => string.Create(Inv, $"{Elapsed.TotalMinutes:F2},{CpuSeconds:F2},{RssKb},{RssAnonKb},{RssFileKb},{Threads},{WriteBytes},{WriteCalls},{Fsyncs},{Gen0},{Gen1},{Gen2},{HeapMb:F3},{CommittedMb:F3},{Jitted},{Exceptions},{Timers}");
}
