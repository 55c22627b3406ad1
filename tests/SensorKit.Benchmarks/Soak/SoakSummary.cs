using System.Globalization;

namespace SensorKit.Benchmarks.Soak;

/// <summary>The figures of docs/resources.md from a soak's rows: shares and rates over the run, growth after the warm-up.</summary>
internal static class SoakSummary
{
    /// <summary>Start-up, first connection and tiering settle within this; growth is judged after it.</summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromMinutes(10);

    public static void Print(TextWriter o, List<SoakRow> rows, RuntimeCounters? runtime, string command)
    {
        SoakRow first = rows[0];
        SoakRow last = rows[^1];
        SoakRow settled = rows.FirstOrDefault(r => r.Elapsed >= WarmUp) ?? first;
        double seconds = (last.Elapsed - first.Elapsed).TotalSeconds;
        double hours = seconds / 3600;
        double settledHours = (last.Elapsed - settled.Elapsed).TotalHours;
        var inv = CultureInfo.InvariantCulture;

        o.WriteLine();
        o.WriteLine($"soak summary ({command}), {last.Elapsed.TotalMinutes:F1} min:");
        o.WriteLine(string.Create(inv, $"  CPU: {last.CpuSeconds:F2} s in all, {100 * (last.CpuSeconds - first.CpuSeconds) / seconds:F3} % of one core over the run, {100 * (last.CpuSeconds - settled.CpuSeconds) / Math.Max(1, (last.Elapsed - settled.Elapsed).TotalSeconds):F3} % after {WarmUp.TotalMinutes:F0} min"));
        o.WriteLine(string.Create(inv, $"  RSS: {first.RssKb / 1024.0:F1} MB at start, {settled.RssKb / 1024.0:F1} MB at {settled.Elapsed.TotalMinutes:F0} min, {last.RssKb / 1024.0:F1} MB at the end, max {rows.Max(r => r.RssKb) / 1024.0:F1} MB; growth after {settled.Elapsed.TotalMinutes:F0} min {(last.RssKb - settled.RssKb) / 1024.0:F2} MB in {settledHours * 60:F0} min ({(settledHours > 0 ? (last.RssKb - settled.RssKb) / 1024.0 / settledHours : double.NaN):F2} MB/h); anonymous {last.RssAnonKb / 1024.0:F1} MB, file-backed {last.RssFileKb / 1024.0:F1} MB"));
        if (PeakGrowth(rows, settled) is { } peaks)
        {
            o.WriteLine(string.Create(inv, $"  RSS peaks (a GC cycle is a saw tooth, so the end row depends on its phase): max {peaks.Early / 1024.0:F1} MB in the {peaks.Span.TotalMinutes:F0} min after minute {settled.Elapsed.TotalMinutes:F0}, max {peaks.Late / 1024.0:F1} MB in the last {peaks.Span.TotalMinutes:F0} min: {(peaks.Late - peaks.Early) / 1024.0:+0.00;-0.00} MB; trend {peaks.SlopeKbPerHour / 1024.0:+0.00;-0.00} MB/h (least squares over the rows after minute {settled.Elapsed.TotalMinutes:F0})"));
        }

        o.WriteLine(string.Create(inv, $"  Managed heap: {last.HeapMb:F2} MB live, {last.CommittedMb:F2} MB committed; GCs gen0 {last.Gen0} gen1 {last.Gen1} gen2 {last.Gen2} ({(last.Gen0 + last.Gen1 + last.Gen2) / hours:F1} per hour)"));
        o.WriteLine(string.Create(inv, $"  JIT: {last.Jitted} methods, {last.Jitted - settled.Jitted} of them after {settled.Elapsed.TotalMinutes:F0} min; timers {last.Timers}; threads {last.Threads}"));
        o.WriteLine(string.Create(inv, $"  Exceptions: {last.Exceptions} ({last.Exceptions / hours:F0} per hour)"));
        foreach ((string type, int count) in runtime?.Exceptions() ?? [])
        {
            o.WriteLine($"    {count} × {type}");
        }

        List<KeyValuePair<string, int>> jitted = runtime?.Jitted() ?? [];
        if (jitted.Count > 0)
        {
            o.WriteLine($"  Compiled after the time asked for: {jitted.Sum(p => p.Value)} methods, {jitted.Count} distinct; most often:");
            foreach ((string method, int count) in jitted.Take(25))
            {
                o.WriteLine($"    {count} × {method}");
            }
        }

        double bytesPerHour = (last.WriteBytes - first.WriteBytes) / hours;
        o.WriteLine(string.Create(inv, $"  Storage: {(last.WriteBytes - first.WriteBytes) / 1e6:F3} MB written to the medium, {bytesPerHour / 1e6:F3} MB/h, {bytesPerHour * 24 / 1e6:F1} MB/day; {(last.WriteCalls - first.WriteCalls) / hours:F0} write calls/h"));
        if (last.Fsyncs >= 0)
        {
            o.WriteLine(string.Create(inv, $"  fsyncs: {last.Fsyncs - first.Fsyncs} ({(last.Fsyncs - first.Fsyncs) / hours:F0}/h, {(last.Fsyncs - first.Fsyncs) / hours * 24:F0}/day)"));
        }
    }

    /// <summary>
    /// Growth judged by peaks and trend rather than by two single rows: the highest RSS in the first and in the last
    /// stretch after the warm-up (each a sixth of that time, at least 10 minutes), and the least-squares slope. Null when
    /// the run after the warm-up is shorter than two stretches.
    /// </summary>
    private static (double Early, double Late, TimeSpan Span, double SlopeKbPerHour)? PeakGrowth(List<SoakRow> rows, SoakRow settled)
    {
        List<SoakRow> after = [.. rows.Where(r => r.Elapsed >= settled.Elapsed)];
        TimeSpan length = after[^1].Elapsed - settled.Elapsed;
        TimeSpan span = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(10).Ticks, length.Ticks / 6));
        if (after.Count < 3 || length < 2 * span)
        {
            return null;
        }

        double early = after.Where(r => r.Elapsed <= settled.Elapsed + span).Max(r => (double)r.RssKb);
        double late = after.Where(r => r.Elapsed >= after[^1].Elapsed - span).Max(r => (double)r.RssKb);
        double meanX = after.Average(r => r.Elapsed.TotalHours);
        double meanY = after.Average(r => (double)r.RssKb);
        double slope = after.Sum(r => (r.Elapsed.TotalHours - meanX) * (r.RssKb - meanY)) / after.Sum(r => Math.Pow(r.Elapsed.TotalHours - meanX, 2));
        return (early, late, span, slope);
    }
}
