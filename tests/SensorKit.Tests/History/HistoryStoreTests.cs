using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Storage;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using static SensorKit.Tests.History.HistoryData;

namespace SensorKit.Tests.History;

/// <summary>The history on its own, on a fake clock and a real database: the same on SQLite and on PostgreSQL.</summary>
public abstract class HistoryStoreTests
{
    /// <summary>Somewhere new to keep a history: a folder, a database.</summary>
    protected abstract string NewLocation();

    /// <summary>A history on <paramref name="location"/>, not opened yet; a second one on the same location is a restart.</summary>
    protected abstract ITelemetryHistory Create(string location, HistoryOptions options, TimeProvider clock);

    private ITelemetryHistory Store(FakeTimeProvider clock, string? location = null, TimeSpan? raw = null, TimeSpan? rollups = null)
    {
        ITelemetryHistory store = Create(location ?? NewLocation(), Options(raw, rollups), clock);
        store.Open();
        return store;
    }
    [Fact]
    public void Rollups_equal_recomputation_from_the_raw_windows()
    {
        var clock = new FakeTimeProvider(T0);
        using ITelemetryHistory store = Store(clock);
        var random = new Random(20260701);
        var windows = new List<TelemetryMessage>();
        long seq = 0;
        // Temperature with weather, pressure with a large offset and small noise (the hard case for variance),
        // and a channel of 7-minute windows that straddle hours (they count in the hour they start in).
        foreach ((string quantity, double level, double drift, double noise, int minutes) in new[] { (Quantities.Temperature, 18.0, 0.05, 0.3, 1), (Quantities.Pressure, 101_325.0, 0.4, 0.02, 1), (Quantities.Humidity, 60.0, 0.2, 1.5, 7) })
        {
            double value = level;
            for (DateTimeOffset end = T0.AddHours(-6).AddMinutes(minutes); end <= T0; end = end.AddMinutes(minutes))
            {
                value += drift * ((random.NextDouble() * 2) - 1);
                windows.Add(Window("n1", end, ++seq, mean: value, stdDev: noise * random.NextDouble(), count: random.Next(1, 60), quantity: quantity, length: TimeSpan.FromMinutes(minutes)));
            }
        }

        // Shuffled, in uneven batches, each batch with copies of earlier windows (a QoS 1 redelivery, a replay).
        TelemetryMessage[] shuffled = [.. windows.OrderBy(_ => random.Next())];
        int duplicates = 0;
        for (int i = 0; i < shuffled.Length;)
        {
            int n = Math.Min(random.Next(1, 200), shuffled.Length - i);
            List<TelemetryMessage> batch = [.. shuffled.AsSpan(i, n)];
            for (int d = 0; d < 5 && i > 0; d++, duplicates++)
            {
                batch.Add(shuffled[random.Next(i)]);
            }

            store.Append(batch.ToArray());
            i += n;
        }

        List<HistoryRow> hours = All(store, new HistoryQuery { From = T0.AddHours(-7), To = T0.AddHours(1), Resolution = HistoryResolution.Hourly });
        Assert.Equal(3 * 6, hours.Count);
        foreach (HistoryRow hour in hours)
        {
            TelemetryMessage[] parts = [.. windows.Where(w => w.Quantity == hour.Channel.Quantity && w.WindowStart >= hour.Start && w.WindowStart < hour.End)];
            (long count, double mean, double stdDev, double min, double max) = Recompute(parts);
            string what = $"{hour.Channel.Quantity} {hour.Start:HH:mm}";
            Assert.Equal(parts.Length, hour.Windows);
            Assert.Equal(count, hour.Count);
            Assert.Equal(min, hour.Min);
            Assert.Equal(max, hour.Max);
            Close(mean, hour.Mean, 1e-9, what + " mean");
            Close(stdDev, hour.StdDev, 1e-9, what + " stddev");
        }

        Assert.True(duplicates > 20);
    }

    [Fact]
    public void An_hour_merged_from_window_statistics_has_the_statistics_of_its_samples()
    {
        var clock = new FakeTimeProvider(T0);
        using ITelemetryHistory store = Store(clock);
        var random = new Random(7);
        var samples = new List<double>();
        var windows = new List<TelemetryMessage>();
        for (int w = 0; w < 60; w++)
        {
            // What a node's window statistics say about its samples (population standard deviation).
            double[] x = [.. Enumerable.Range(0, random.Next(1, 13)).Select(_ => 1013.25 + (5 * random.NextDouble()))];
            double mean = x.Average();
            double sd = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / x.Length);
            samples.AddRange(x);
            var m = Window("n1", T0.AddHours(-1).AddMinutes(w + 1), w + 1, mean: mean, stdDev: sd, count: x.Length);
            windows.Add(m with { Min = x.Min(), Max = x.Max() });
        }

        foreach (TelemetryMessage m in windows.OrderBy(_ => random.Next()))
        {
            store.Append([m]);
        }

        HistoryRow hour = Assert.Single(store.Query(new HistoryQuery { From = T0.AddHours(-1), To = T0, Resolution = HistoryResolution.Hourly }).Rows);
        double all = samples.Average();
        Assert.Equal(samples.Count, hour.Count);
        Close(all, hour.Mean, 1e-9, "mean");
        Close(Math.Sqrt(samples.Sum(v => (v - all) * (v - all)) / samples.Count), hour.StdDev, 1e-9, "stddev");
        Assert.Equal(samples.Min(), hour.Min);
        Assert.Equal(samples.Max(), hour.Max);
    }

    [Fact]
    public void A_window_is_stored_once_whether_it_repeats_its_end_or_its_sequence_number()
    {
        var clock = new FakeTimeProvider(T0);
        using ITelemetryHistory store = Store(clock);
        TelemetryMessage first = Window("n1", T0.AddMinutes(-10), seq: 5, mean: 20);

        Assert.Equal(new HistoryAppendResult(1, 0, 0), store.Append([first]));
        Assert.Equal(new HistoryAppendResult(0, 3, 0), store.Append(
        [
            first,
            first with { Sequence = 6, Mean = 21 },                                   // same channel and end
            first with { Quantity = Quantities.Humidity, WindowEnd = T0, Mean = 50 }, // same node and seq
        ]));
        Assert.Equal(new HistoryAppendResult(1, 0, 0), store.Append([first with { Node = "n2" }]));

        HistoryRow only = Assert.Single(store.Query(new HistoryQuery { Node = "n1", From = T0.AddHours(-1), To = T0.AddHours(1) }).Rows);
        Assert.Equal(20, only.Mean);
        HistoryRow hour = Assert.Single(store.Query(new HistoryQuery { Node = "n1", From = T0.AddHours(-1), To = T0, Resolution = HistoryResolution.Hourly }).Rows);
        Assert.Equal((1, 6L), (hour.Windows, hour.Count));
    }

    [Fact]
    public void Out_of_order_and_backfilled_windows_come_back_in_time_order_page_by_page()
    {
        var clock = new FakeTimeProvider(T0);
        using ITelemetryHistory store = Store(clock);
        var random = new Random(3);
        var sent = new List<TelemetryMessage>();
        long seq = 0;
        foreach (string node in new[] { "n1", "n2" })
        {
            foreach (string quantity in new[] { Quantities.Temperature, Quantities.Humidity })
            {
                for (int i = 0; i < 150; i++)
                {
                    // The older half arrives later, from the outbox.
                    sent.Add(Window(node, T0.AddMinutes(-i), ++seq, mean: i, quantity: quantity, backfill: i >= 75, flags: i % 10 == 0 ? QualityFlags.Gaps : QualityFlags.None));
                }
            }
        }

        foreach (TelemetryMessage[] chunk in sent.OrderBy(_ => random.Next()).Chunk(37))
        {
            store.Append(chunk);
        }

        var query = new HistoryQuery { From = T0.AddDays(-1), To = T0, Limit = 7 };
        List<HistoryRow> rows = All(store, query);

        Assert.Equal(sent.Count, rows.Count);
        Assert.Equal(rows.Count, rows.Select(r => (r.Channel.Id, r.End)).Distinct().Count());
        Assert.Equal([.. rows.OrderBy(r => r.Channel.Id).ThenBy(r => r.End)], rows);
        foreach (HistoryRow r in rows)
        {
            TelemetryMessage m = sent.Single(s => s.Node == r.Channel.Node && s.Quantity == r.Channel.Quantity && s.WindowEnd == r.End);
            Assert.Equal((HistoryRowKind.Window, m.WindowStart, m.Sequence, m.Mean, m.StdDev, m.First, m.Last, m.Flags, m.Backfill), (r.Kind, r.Start, r.Sequence!.Value, r.Mean, r.StdDev, r.First!.Value, r.Last!.Value, r.Flags, r.Backfill));
        }

        // A filter and a cursor as text, the way a link would carry it.
        HistoryPage page = store.Query(query with { Node = "n2", Quantity = Quantities.Humidity, Limit = 100 });
        Assert.True(HistoryCursor.TryParse(page.Next!.Value.ToString(), out HistoryCursor cursor));
        HistoryPage rest = store.Query(query with { Node = "n2", Quantity = Quantities.Humidity, Limit = 100, After = cursor });
        Assert.Equal(150, page.Rows.Count + rest.Rows.Count);
        Assert.Null(rest.Next);
        Assert.True(page.Rows[^1].End < rest.Rows[0].End);
        Assert.Single(store.Channels(node: "n2", quantity: Quantities.Humidity));
    }

    [Fact]
    public void Retention_deletes_what_it_should_and_nothing_else()
    {
        var clock = new FakeTimeProvider(T0);
        using ITelemetryHistory store = Store(clock, raw: TimeSpan.FromDays(2), rollups: TimeSpan.FromDays(10));
        var windows = new List<TelemetryMessage>();
        long seq = 0;
        // Two channels over the two days before T0; a third only over the last six hours.
        foreach (string node in new[] { "a", "b" })
        {
            for (int i = 0; i < 2 * 1440; i++)
            {
                windows.Add(Window(node, T0.AddMinutes(-i), ++seq, mean: i % 17));
            }
        }

        for (int i = 0; i < 360; i++)
        {
            windows.Add(Window("c", T0.AddMinutes(-i), ++seq));
        }

        foreach (TelemetryMessage[] chunk in windows.Chunk(1000))
        {
            store.Append(chunk);
        }

        var all = new HistoryQuery { From = T0.AddDays(-3), To = T0.AddDays(1), Limit = HistoryQuery.MaxLimit };
        List<HistoryRow> before = All(store, all);
        Assert.Equal(windows.Count, before.Count);

        // A day later the raw cut is at T0 − 1 day: exactly the windows ending by then go.
        clock.SetUtcNow(T0.AddDays(1).AddMinutes(30));
        HistoryRetentionResult r = store.ApplyRetention(clock.GetUtcNow());
        DateTimeOffset cut = T0.AddDays(-1);
        Assert.Equal(cut, r.RawBefore);
        Assert.Equal(windows.Count(w => w.WindowEnd <= cut), r.RawDeleted);
        Assert.Equal(0, r.RollupsDeleted);

        List<HistoryRow> after = All(store, all);
        List<HistoryRow> raw = [.. after.Where(x => x.Kind == HistoryRowKind.Window)];
        List<HistoryRow> hours = [.. after.Where(x => x.Kind == HistoryRowKind.Hour)];
        Assert.Equal(windows.Where(w => w.WindowStart >= cut).Select(w => (w.Node, w.WindowEnd)).Order(), raw.Select(x => (x.Channel.Node, x.End)).Order());
        Assert.Equal(2 * 24, hours.Count); // a and b before the cut; c has nothing there
        Assert.All(hours, h => Assert.True(h.End <= cut));
        // Nothing was lost in the move: every sample is in a row, once.
        Assert.Equal(windows.Where(w => w.WindowEnd > T0.AddDays(-2)).Sum(w => (long)w.Count), after.Sum(x => x.Count));

        // Past the rollup retention too: hours before T0 − 1 day go, the rest stays.
        clock.SetUtcNow(T0.AddDays(9));
        r = store.ApplyRetention(clock.GetUtcNow());
        Assert.Equal(T0.AddDays(-1), r.RollupsBefore);
        Assert.Equal(2 * 24, r.RollupsDeleted);
        Assert.Equal(windows.Count(w => w.WindowEnd > cut), r.RawDeleted);
        List<HistoryRow> left = All(store, all with { Resolution = HistoryResolution.Hourly });
        Assert.Equal(2 * 24 + 6, left.Count);
        Assert.All(left, h => Assert.True(h.Start >= T0.AddDays(-1)));
    }

    [Fact]
    public void A_window_of_an_hour_whose_windows_retention_deleted_is_not_stored()
    {
        var clock = new FakeTimeProvider(T0);
        string dir = NewLocation();
        using (ITelemetryHistory store = Store(clock, dir, raw: TimeSpan.FromDays(2)))
        {
            // Older than the retention but not deleted yet: stored (the next pass deletes it, its hour keeps it).
            Assert.Equal(new HistoryAppendResult(1, 0, 0), store.Append([Window("n1", T0.AddDays(-3), 1)]));
            store.ApplyRetention(T0);
        }

        // The cut survives a restart.
        using ITelemetryHistory again = Store(clock, dir, raw: TimeSpan.FromDays(2));
        HistoryAppendResult r = again.Append([Window("n1", T0.AddDays(-2).AddMinutes(1), 2), Window("n1", T0.AddDays(-2), 3), Window("n1", T0.AddDays(-3), 1)]);

        Assert.Equal(new HistoryAppendResult(1, 0, 2), r);
    }

    [Fact]
    public void The_store_is_the_same_after_reopening_the_file()
    {
        var clock = new FakeTimeProvider(T0);
        string dir = NewLocation();
        using (ITelemetryHistory store = Store(clock, dir))
        {
            store.Append([Window("n1", T0, 1), Window("n2", T0, 1, quantity: Quantities.Pressure)]);
        }

        using ITelemetryHistory again = Store(clock, dir);
        Assert.Equal(new HistoryAppendResult(1, 1, 0), again.Append([Window("n1", T0, 1), Window("n1", T0.AddMinutes(1), 2)]));
        Assert.Equal(3, All(again, new HistoryQuery { From = T0.AddHours(-1), To = T0.AddHours(1) }).Count);
        Assert.Equal(new[] { "n1", "n2" }, again.Channels().Select(c => c.Node).Order());
    }

    [Fact]
    public void A_scan_filters_sorts_and_pages_on_stored_columns_and_a_count_ignores_its_page()
    {
        var clock = new FakeTimeProvider(T0);
        using ITelemetryHistory store = Store(clock);
        long seq = 0;
        var sent = new List<TelemetryMessage>();
        foreach (string node in new[] { "n1", "n2", "n3" })
        {
            for (int i = 0; i < 60; i++)
            {
                sent.Add(Window(node, T0.AddMinutes(-i), ++seq, mean: (i * 7) % 23, count: 1 + (i % 6)));
            }
        }

        store.Append(sent.ToArray());
        IReadOnlyList<HistoryChannel> all = store.Channels();
        HistoryChannel n2 = Assert.Single(store.Channels(node: "n2"));
        long from = T0.AddMinutes(-30).ToUnixTimeMilliseconds();
        HistoryPredicate where = new HistoryCompare(HistoryColumn.Start, HistoryComparison.GreaterOrEqual, from)
            & (new HistoryCompare(HistoryColumn.Mean, HistoryComparison.Greater, 10.5) | new HistoryNot(new HistoryCompare(HistoryColumn.Count, HistoryComparison.NotEqual, 1)));
        bool Matches(TelemetryMessage m) => m.WindowStart.ToUnixTimeMilliseconds() >= from && (m.Mean > 10.5 || m.Count == 1);

        var scan = new HistoryScan { Channels = all, Where = where, OrderBy = [(HistoryColumn.Mean, true), (HistoryColumn.End, false)] };
        List<HistoryRow> rows = [.. store.Scan(scan, TestContext.Current.CancellationToken)];

        TelemetryMessage[] expected = [.. sent.Where(Matches)];
        Assert.Equal(expected.Length, rows.Count);
        Assert.Equal(expected.Length, store.Count(scan with { Offset = 5, Limit = 3 }));
        Assert.Equal([.. rows.OrderByDescending(r => r.Mean).ThenBy(r => r.End).ThenBy(r => r.Channel.Id)], rows);
        Assert.Equal(rows.Skip(5).Take(3), store.Scan(scan with { Offset = 5, Limit = 3 }, TestContext.Current.CancellationToken));
        Assert.Equal(rows.Skip(7), store.Scan(scan with { Offset = 7 }, TestContext.Current.CancellationToken));
        Assert.Empty(store.Scan(scan with { Limit = 0 }, TestContext.Current.CancellationToken));

        // One channel, in the default order: by end.
        List<HistoryRow> one = [.. store.Scan(new HistoryScan { Channels = [n2], Where = where }, TestContext.Current.CancellationToken)];
        Assert.Equal(sent.Where(m => m.Node == "n2" && Matches(m)).Select(m => m.WindowEnd).Order(), one.Select(r => r.End));
        Assert.All(one, r => Assert.Equal(n2, r.Channel));
        Assert.Equal(one.Count, store.Count(new HistoryScan { Channels = [n2, n2], Where = where }));
    }
}

public sealed class SqliteHistoryStoreTests : HistoryStoreTests
{
    protected override string NewLocation() => TestDirectories.Create("history");

    protected override ITelemetryHistory Create(string location, HistoryOptions options, TimeProvider clock) =>
        new SqliteTelemetryHistory(Path.Combine(location, SqliteTelemetryHistory.FileName), options, clock, NullLogger<SqliteTelemetryHistory>.Instance);
}

public sealed class PostgresHistoryStoreTests(PostgresServer postgres) : HistoryStoreTests, IAsyncLifetime
{
    public ValueTask InitializeAsync() => new(postgres.EnsureStartedAsync());

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    protected override string NewLocation() => postgres.CreateDatabase();

    protected override ITelemetryHistory Create(string location, HistoryOptions options, TimeProvider clock) => new PostgresTelemetryHistory(
        new StateOptions { Provider = StateProvider.PostgreSql, ConnectionString = location },
        options,
        clock,
        NullLogger<PostgresTelemetryHistory>.Instance);
}
