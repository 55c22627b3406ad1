using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SensorKit.Gateway.History;
using SensorKit.Protocol;

namespace SensorKit.Benchmarks;

/// <summary>
/// The history's measurements (docs/history.md, docs/performance.md): size on disk per node and year, written through
/// the real store; a fleet-sized database for the query benchmark, written by a bulk insert.
/// </summary>
internal static class HistoryRuns
{
    /// <summary>The database <see cref="HistoryQueryBenchmarks"/> reads: SENSORKIT_HISTORY_DB, else one in the temp folder.</summary>
    public static string FleetDatabase =>
        Environment.GetEnvironmentVariable("SENSORKIT_HISTORY_DB") is { Length: > 0 } path ? path : Path.Combine(Path.GetTempPath(), "sensorkit-history-bench", SqliteTelemetryHistory.FileName);

    /// <summary>Where the fleet's data ends: an hour boundary, so queries line up with windows.</summary>
    public static readonly DateTimeOffset FleetEnd = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly string[] Channels = ["bme280/temperature", "bme280/humidity", "bme280/pressure", "derived/dew-point", "derived/absolute-humidity", "derived/heat-index", "derived/sea-level-pressure", "derived/pressure-tendency-3h", "derived/temperature-rate"];

    /// <summary>
    /// history-size [--days 365]: one node with 9 channels at 1-minute windows for a year, appended in batches of
    /// 1,000 through <see cref="SqliteTelemetryHistory"/> as the gateway does; then the retention at the default 30 days.
    /// </summary>
    public static int Size(string[] args)
    {
        int days = LoadSupport.Option(args, "--days", 365);
        string dir = Directory.CreateTempSubdirectory("sensorkit-history-size-").FullName;
        string path = Path.Combine(dir, SqliteTelemetryHistory.FileName);
        DateTimeOffset end = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600 * 3600);
        DateTimeOffset start = end.AddDays(-days);
        var keepAll = new HistoryOptions { RawRetention = TimeSpan.FromDays(days + 1) };
        long rows = 0;
        var clock = Stopwatch.StartNew();
        using (var store = new SqliteTelemetryHistory(path, keepAll, TimeProvider.System, NullLogger<SqliteTelemetryHistory>.Instance))
        {
            store.Open();
            var batch = new TelemetryMessage[1000];
            int n = 0;
            var random = new Random(1);
            double[] level = [.. Channels.Select((_, i) => 10.0 + (i * 100))];
            long seq = 0;
            for (DateTimeOffset t = start.AddMinutes(1); t <= end; t = t.AddMinutes(1))
            {
                for (int c = 0; c < Channels.Length; c++)
                {
                    level[c] += (random.NextDouble() - 0.5) * 0.1;
                    batch[n++] = Window("site-1", "node-1", Channels[c], t, ++seq, level[c], random);
                    if (n == batch.Length)
                    {
                        store.Append(batch);
                        rows += n;
                        n = 0;
                    }
                }
            }

            store.Append(batch.AsSpan(0, n));
            rows += n;
        }

        double seconds = clock.Elapsed.TotalSeconds;
        Checkpoint(path);
        (long windowBytes, long rollupBytes, long fileBytes) = Sizes(path);
        long rollups = Scalar(path, "SELECT COUNT(*) FROM rollups");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"history-size: {rows} windows of 1 node × {Channels.Length} channels over {days} days appended in {seconds:0.0} s ({rows / seconds:0} windows/s)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"history-size: all raw: file {Mib(fileBytes)}; windows table and index {Mib(windowBytes)} ({(double)windowBytes / rows:0.0} bytes a window); {rollups} hourly rollups {Mib(rollupBytes)} ({(double)rollupBytes / rollups:0.0} bytes a rollup)"));

        using (var store = new SqliteTelemetryHistory(path, new HistoryOptions(), TimeProvider.System, NullLogger<SqliteTelemetryHistory>.Instance))
        {
            store.Open();
            HistoryRetentionResult r = store.ApplyRetention(end);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"history-size: retention at 30 days deleted {r.RawDeleted} windows"));
        }

        Execute(path, "VACUUM");
        Checkpoint(path);
        (windowBytes, rollupBytes, fileBytes) = Sizes(path);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"history-size: after retention and VACUUM: file {Mib(fileBytes)}; 30 days of windows {Mib(windowBytes)}; {days} days of rollups {Mib(rollupBytes)}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"history-size: per node and year: windows kept a whole year {Mib((long)(windowBytes * 365.0 / 30))} (scaled from 30 days), rollups {Mib((long)(rollupBytes * 365.0 / days))}; at the defaults (30 days raw, 5 years of rollups) a node takes {Mib(windowBytes + (long)(rollupBytes * 5 * 365.0 / days))}"));
        Directory.Delete(dir, recursive: true);
        return 0;
    }

    /// <summary>
    /// history-generate [--nodes 500] [--days 30] [--full-nodes 500]: the fleet database for <see cref="HistoryQueryBenchmarks"/>
    /// at <see cref="FleetDatabase"/>, by a bulk insert in a single transaction (not through the store). Nodes past
    /// --full-nodes get one channel instead of 9, so a smaller machine can stop short of 194 M rows.
    /// </summary>
    public static int Generate(string[] args)
    {
        int nodes = LoadSupport.Option(args, "--nodes", 500);
        int days = LoadSupport.Option(args, "--days", 30);
        int full = LoadSupport.Option(args, "--full-nodes", nodes);
        string path = FleetDatabase;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        foreach (string f in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(f);
        }

        // The schema exactly as the gateway creates it.
        using (var store = new SqliteTelemetryHistory(path, new HistoryOptions(), TimeProvider.System, NullLogger<SqliteTelemetryHistory>.Instance))
        {
            store.Open();
        }

        var clock = Stopwatch.StartNew();
        long rows = 0;
        int minutes = days * 1440;
        long startMs = FleetEnd.AddDays(-days).ToUnixTimeMilliseconds();
        using (var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            db.Open();
            Execute(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576;");
            using SqliteTransaction tx = db.BeginTransaction();
            using SqliteCommand node = Command(db, tx, "INSERT INTO nodes (id, site, node) VALUES ($1, 'site-1', $2)", 2);
            using SqliteCommand channel = Command(db, tx, "INSERT INTO channels (id, node, sensor, quantity, unit) VALUES ($1, $2, $3, $4, 'Cel')", 4);
            using SqliteCommand insert = Command(db, tx, """
                INSERT INTO windows (channel, end_ms, length_ms, node, seq, count, min, max, mean, stddev, first, last, flags, backfill)
                VALUES ($1, $2, 60000, $3, $4, 6, $5, $6, $7, $8, $9, $10, 0, 0)
                """, 10);
            var random = new Random(2);
            long channelId = 0;
            for (int n = 1; n <= nodes; n++)
            {
                Set(node, n, $"node-{n}");
                node.ExecuteNonQuery();
                int channels = n <= full ? Channels.Length : 1;
                for (int c = 0; c < channels; c++)
                {
                    string[] parts = Channels[c].Split('/');
                    Set(channel, ++channelId, n, parts[0], parts[1]);
                    channel.ExecuteNonQuery();
                    double level = 10 + (c * 100);
                    for (int m = 0; m < minutes; m++)
                    {
                        level += (random.NextDouble() - 0.5) * 0.1;
                        double sd = random.NextDouble() * 0.3;
                        Set(insert, channelId, startMs + ((m + 1) * 60_000L), n, ((long)m * Channels.Length) + c + 1, level - (2 * sd), level + (2 * sd), level, sd, level - sd, level + sd);
                        insert.ExecuteNonQuery();
                        rows++;
                    }
                }

                if (n % 25 == 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"history-generate: {n} nodes, {rows} windows, {clock.Elapsed.TotalSeconds:0} s"));
                }
            }

            tx.Commit();
            Execute(db, "PRAGMA journal_mode = WAL;");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"history-generate: {rows} windows of {nodes} nodes ({full} with {Channels.Length} channels) over {days} days in {clock.Elapsed.TotalSeconds:0} s; {Mib(new FileInfo(path).Length)} at {path}"));
        return 0;
    }

    private static TelemetryMessage Window(string site, string node, string channel, DateTimeOffset end, long seq, double level, Random random)
    {
        string[] parts = channel.Split('/');
        double sd = random.NextDouble() * 0.3;
        return new TelemetryMessage
        {
            Site = site,
            Node = node,
            Sensor = parts[0],
            Quantity = parts[1],
            Unit = "Cel",
            Sequence = seq,
            WindowStart = end.AddMinutes(-1),
            WindowEnd = end,
            Count = 6,
            Expected = 6,
            Min = level - (2 * sd),
            Max = level + (2 * sd),
            Mean = level,
            StdDev = sd,
            First = level - sd,
            Last = level + sd,
        };
    }

    private static SqliteCommand Command(SqliteConnection db, SqliteTransaction tx, string sql, int parameters)
    {
        SqliteCommand cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        for (int i = 1; i <= parameters; i++)
        {
            cmd.Parameters.Add(new SqliteParameter { ParameterName = "$" + i.ToString(CultureInfo.InvariantCulture) });
        }

        cmd.Prepare();
        return cmd;
    }

    private static void Set(SqliteCommand cmd, params object[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            cmd.Parameters[i].Value = values[i];
        }
    }

    /// <summary>
    /// Bytes of the windows (table and index) and of the rollups: the file vacuumed with the other table dropped, on a
    /// copy (the bundled SQLite has no dbstat). Both include the few pages of the schema and the channel catalog.
    /// </summary>
    private static (long Windows, long Rollups, long File) Sizes(string path)
    {
        long Without(string table)
        {
            string copy = path + ".size";
            File.Copy(path, copy, overwrite: true);
            Execute(copy, $"DROP TABLE {table}; VACUUM;");
            long bytes = new FileInfo(copy).Length;
            File.Delete(copy);
            return bytes;
        }

        return (Without("rollups"), Without("windows"), new FileInfo(path).Length);
    }

    private static void Checkpoint(string path) => Execute(path, "PRAGMA wal_checkpoint(TRUNCATE)");

    private static void Execute(string path, string sql)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        Execute(db, sql);
    }

    private static void Execute(SqliteConnection db, string sql)
    {
        using SqliteCommand cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static long Scalar(string path, string sql)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        using SqliteCommand cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB");
}

/// <summary>
/// 24 hours of one channel from the fleet database (history-generate first): every call a different node's channel,
/// so the pages are not all in SQLite's cache. P95 is the figure the target is stated in (50 ms).
/// </summary>
[Config(typeof(Percentiles))]
[MemoryDiagnoser]
public class HistoryQueryBenchmarks : IDisposable
{
    private SqliteTelemetryHistory _store = null!;
    private string[] _nodes = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        string path = HistoryRuns.FleetDatabase;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"no fleet database at {path}: run history-generate first (docs/performance.md)");
        }

        // Raw retention long enough that the generated month counts as raw whatever the date.
        _store = new SqliteTelemetryHistory(path, new HistoryOptions { RawRetention = TimeSpan.FromDays(3650), RollupRetention = TimeSpan.FromDays(3650) }, TimeProvider.System, NullLogger<SqliteTelemetryHistory>.Instance);
        _store.Open();
        _nodes = [.. _store.Channels(quantity: Quantities.Temperature).Select(c => c.Node).OrderBy(n => n.GetHashCode(StringComparison.Ordinal))];
    }

    /// <summary>One page holding the whole day: 1,440 windows.</summary>
    [Benchmark]
    public int OneChannel24Hours() => Query(HistoryQuery.MaxLimit);

    /// <summary>The same day in pages of 500, as a client paging through it would fetch it.</summary>
    [Benchmark]
    public int OneChannel24HoursPaged() => Query(500);

    private int Query(int limit)
    {
        string node = _nodes[_next++ % _nodes.Length];
        var query = new HistoryQuery { Node = node, Sensor = "bme280", Quantity = Quantities.Temperature, From = HistoryRuns.FleetEnd.AddDays(-1), To = HistoryRuns.FleetEnd, Limit = limit };
        HistoryPage page = _store.Query(query);
        int rows = page.Rows.Count;
        while (page.Next is { } next)
        {
            page = _store.Query(query with { After = next });
            rows += page.Rows.Count;
        }

        return rows == 1440 ? rows : throw new InvalidOperationException($"{rows} rows for {node}, not 1440");
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>One call per iteration, so the percentiles are of single queries, each on another node's channel.</summary>
    private sealed class Percentiles : ManualConfig
    {
        public Percentiles()
        {
            AddJob(Job.Default.WithInvocationCount(1).WithUnrollFactor(1).WithWarmupCount(10).WithIterationCount(500).WithOutlierMode(Perfolizer.Mathematics.OutlierDetection.OutlierMode.DontRemove));
            AddColumn(StatisticColumn.P50, StatisticColumn.P95, StatisticColumn.Max);
        }
    }
}
