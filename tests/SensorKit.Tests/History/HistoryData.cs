using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Gateway.History;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.History;

/// <summary>Windows and stores for the history tests.</summary>
internal static class HistoryData
{
    public static readonly DateTimeOffset T0 = new(2026, 7, 1, 0, 0, 0, TimeSpan.Zero);

    public static TelemetryMessage Window(
        string node,
        DateTimeOffset end,
        long seq,
        double mean = 20,
        double stdDev = 0.5,
        int count = 6,
        string sensor = "bme280",
        string quantity = Quantities.Temperature,
        TimeSpan? length = null,
        QualityFlags flags = QualityFlags.None,
        bool backfill = false,
        string site = "test") => new()
    {
        Site = site,
        Node = node,
        Sensor = sensor,
        Quantity = quantity,
        Unit = quantity == Quantities.Pressure ? Units.Pascal : Units.Celsius,
        Sequence = seq,
        WindowStart = end - (length ?? TimeSpan.FromMinutes(1)),
        WindowEnd = end,
        Count = count,
        Expected = count,
        Min = mean - 2 * stdDev,
        Max = mean + 2 * stdDev,
        Mean = mean,
        StdDev = stdDev,
        First = mean - stdDev,
        Last = mean + stdDev,
        Flags = flags,
        Backfill = backfill,
    };

    /// <summary>The retention of the history tests: 30 days raw and five years of rollups unless given.</summary>
    public static HistoryOptions Options(TimeSpan? raw = null, TimeSpan? rollups = null) =>
        new() { RawRetention = raw ?? TimeSpan.FromDays(30), RollupRetention = rollups ?? TimeSpan.FromDays(5 * 365 + 1) };

    /// <summary>Every row of a query, page by page.</summary>
    public static List<HistoryRow> All(ITelemetryHistory history, HistoryQuery query)
    {
        var rows = new List<HistoryRow>();
        HistoryPage page = history.Query(query);
        rows.AddRange(page.Rows);
        for (int guard = 0; page.Next is { } next && guard < 100_000; guard++)
        {
            page = history.Query(query with { After = next });
            rows.AddRange(page.Rows);
        }

        return rows;
    }

    /// <summary>
    /// The statistics of an hour recomputed in one go from its windows, by the two-pass formula: mean = Σnᵢμᵢ / N,
    /// M2 = Σ (nᵢσᵢ² + nᵢ(μᵢ − mean)²).
    /// </summary>
    public static (long Count, double Mean, double StdDev, double Min, double Max) Recompute(IReadOnlyCollection<TelemetryMessage> windows)
    {
        long n = windows.Sum(w => (long)w.Count);
        double mean = windows.Sum(w => w.Count * w.Mean) / n;
        double m2 = windows.Sum(w => (w.Count * w.StdDev * w.StdDev) + (w.Count * (w.Mean - mean) * (w.Mean - mean)));
        return (n, mean, Math.Sqrt(m2 / n), windows.Min(w => w.Min), windows.Max(w => w.Max));
    }

    public static void Close(double expected, double actual, double relative, string what) =>
        Assert.True(Math.Abs(expected - actual) <= relative * Math.Max(Math.Abs(expected), double.Epsilon), $"{what}: {actual:R} is not {expected:R} to {relative} relative");
}
