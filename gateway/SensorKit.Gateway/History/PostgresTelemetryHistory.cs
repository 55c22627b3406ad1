using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Storage;
using SensorKit.Protocol;

namespace SensorKit.Gateway.History;

/// <summary>
/// The history in PostgreSQL (State:Provider PostgreSql), in the schema <c>history</c> of the state database: the
/// tables of <see cref="SqliteTelemetryHistory"/>, which the gateways of a group share. The catalog of channels and
/// the raw cut are read from the database, not kept in memory, because other gateways add to them. A batch is one
/// round trip for its windows and one for its rollups (arrays unnested, ON CONFLICT DO NOTHING skipping copies).
/// Database failures are <see cref="StateStoreException"/>s.
/// </summary>
public sealed partial class PostgresTelemetryHistory(StateOptions state, HistoryOptions options, TimeProvider time, ILogger<PostgresTelemetryHistory> logger) : ITelemetryHistory
{
    /// <summary>The PostgreSQL schema of the history's tables, beside the alert state's.</summary>
    public const string SchemaName = "history";

    private const int SchemaVersion = 1;

    /// <summary>Channels per retention transaction, so no transaction holds many rows locked for long.</summary>
    private const int RetentionChunk = 64;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS nodes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, site text NOT NULL, node text NOT NULL, UNIQUE (site, node));
        CREATE TABLE IF NOT EXISTS channels (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, node bigint NOT NULL REFERENCES nodes (id),
            sensor text NOT NULL, quantity text NOT NULL, unit text NOT NULL, UNIQUE (node, sensor, quantity));
        CREATE TABLE IF NOT EXISTS windows (
            channel bigint NOT NULL, end_ms bigint NOT NULL, length_ms bigint NOT NULL,
            node bigint NOT NULL, seq bigint NOT NULL, count bigint NOT NULL,
            min double precision NOT NULL, max double precision NOT NULL, mean double precision NOT NULL, stddev double precision NOT NULL,
            first double precision NOT NULL, last double precision NOT NULL, flags integer NOT NULL, backfill integer NOT NULL,
            PRIMARY KEY (channel, end_ms));
        CREATE UNIQUE INDEX IF NOT EXISTS windows_seq ON windows (node, seq);
        CREATE TABLE IF NOT EXISTS rollups (
            channel bigint NOT NULL, hour_ms bigint NOT NULL, windows integer NOT NULL, count bigint NOT NULL,
            min double precision NOT NULL, max double precision NOT NULL, mean double precision NOT NULL, m2 double precision NOT NULL,
            flags integer NOT NULL, PRIMARY KEY (channel, hour_ms));
        """;

    private const string InsertWindows = """
        INSERT INTO windows (channel, end_ms, length_ms, node, seq, count, min, max, mean, stddev, first, last, flags, backfill)
        SELECT * FROM unnest(@channel, @end, @length, @node, @seq, @count, @min, @max, @mean, @stddev, @first, @last, @flags, @backfill)
        ON CONFLICT DO NOTHING
        RETURNING channel, end_ms - length_ms, count, min, max, mean, stddev, flags
        """;

    // Chan et al.'s merge (RollupMath) on the stored row, as SqliteTelemetryHistory's upsert does it.
    private const string UpsertRollups = """
        INSERT INTO rollups AS r (channel, hour_ms, windows, count, min, max, mean, m2, flags)
        SELECT * FROM unnest(@channel, @hour, @windows, @count, @min, @max, @mean, @m2, @flags)
        ON CONFLICT (channel, hour_ms) DO UPDATE SET
            windows = r.windows + excluded.windows,
            count = r.count + excluded.count,
            min = LEAST(r.min, excluded.min),
            max = GREATEST(r.max, excluded.max),
            mean = r.mean + (excluded.mean - r.mean) * excluded.count / (r.count + excluded.count),
            m2 = r.m2 + excluded.m2 + (excluded.mean - r.mean) * (excluded.mean - r.mean) * r.count * excluded.count / (r.count + excluded.count),
            flags = r.flags | excluded.flags
        """;

    private readonly Lock _writeLock = new();

    // Ids of the channels this gateway wrote to; ids never change, so a copy stays right whatever others add.
    private readonly Dictionary<(string Site, string Node, string Sensor, string Quantity), Entry> _channels = [];
    private readonly Dictionary<(long Channel, long Hour), RollupMath> _rollups = [];
    private NpgsqlDataSource? _db;

    public string Location => PostgresDatabase.Describe(state);

    private bool IsOpen => Volatile.Read(ref _db) is not null;

    private NpgsqlDataSource Db => Volatile.Read(ref _db) ?? throw new InvalidOperationException("The history is not open.");

    public void Open()
    {
        lock (_writeLock)
        {
            if (_db is not null)
            {
                return;
            }

            _db = PostgresDatabase.Open(state, SchemaName, Schema, SchemaVersion, "history");
            LogOpened(Location, Channels().Count);
        }
    }

    private long RawFromMs(DateTimeOffset now) => HistorySql.FloorHour(now.ToUnixTimeMilliseconds() - (long)options.RawRetention.TotalMilliseconds);

    public HistoryAppendResult Append(ReadOnlySpan<TelemetryMessage> windows)
    {
        TelemetryMessage[] copy = windows.ToArray();
        lock (_writeLock)
        {
            return Read(c =>
            {
                try
                {
                    return Append(c, copy);
                }
                catch (NpgsqlException)
                {
                    // Ids handed out in the rolled-back transaction do not exist.
                    _channels.Clear();
                    throw;
                }
            });
        }
    }

    private HistoryAppendResult Append(NpgsqlConnection c, TelemetryMessage[] windows)
    {
        using NpgsqlTransaction tx = c.BeginTransaction();
        // Read in the transaction: another gateway's retention may have moved it.
        long rawCut = RawCut(c, tx);
        var batch = new WindowArrays(windows.Length);
        int tooOld = 0;
        foreach (TelemetryMessage m in windows)
        {
            if (m.WindowStart.ToUnixTimeMilliseconds() < rawCut)
            {
                // Its hour's windows are deleted already: a copy could no longer be recognised as one.
                tooOld++;
                continue;
            }

            batch.Add(m, Channel(c, tx, m));
        }

        int stored = batch.Count == 0 ? 0 : Insert(c, tx, batch);
        tx.Commit();
        return new HistoryAppendResult(stored, batch.Count - stored, tooOld);
    }

    /// <summary>Inserts the windows not stored yet and merges them into their hours; returns how many were new.</summary>
    private int Insert(NpgsqlConnection c, NpgsqlTransaction tx, WindowArrays batch)
    {
        _rollups.Clear();
        using (var insert = new NpgsqlCommand(InsertWindows, c, tx))
        {
            batch.Bind(insert);
            using NpgsqlDataReader r = insert.ExecuteReader();
            while (r.Read())
            {
                ref RollupMath rollup = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_rollups, (r.GetInt64(0), HistorySql.FloorHour(r.GetInt64(1))), out _);
                rollup.AddWindow(r.GetInt64(2), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5), r.GetDouble(6), (QualityFlags)r.GetInt32(7));
            }
        }

        int n = _rollups.Count;
        if (n == 0)
        {
            return 0;
        }

        (long[] channel, long[] hour, int[] count, long[] samples) = (new long[n], new long[n], new int[n], new long[n]);
        (double[] min, double[] max, double[] mean, double[] m2, int[] flags) = (new double[n], new double[n], new double[n], new double[n], new int[n]);
        int i = 0, stored = 0;
        foreach (((long ch, long h), RollupMath r) in _rollups)
        {
            (channel[i], hour[i], count[i], samples[i]) = (ch, h, r.Windows, r.Count);
            (min[i], max[i], mean[i], m2[i], flags[i]) = (r.Min, r.Max, r.Mean, r.M2, (int)r.Flags);
            stored += r.Windows;
            i++;
        }

        using var upsert = new NpgsqlCommand(UpsertRollups, c, tx);
        upsert.Parameters.AddWithValue("channel", channel);
        upsert.Parameters.AddWithValue("hour", hour);
        upsert.Parameters.AddWithValue("windows", count);
        upsert.Parameters.AddWithValue("count", samples);
        upsert.Parameters.AddWithValue("min", min);
        upsert.Parameters.AddWithValue("max", max);
        upsert.Parameters.AddWithValue("mean", mean);
        upsert.Parameters.AddWithValue("m2", m2);
        upsert.Parameters.AddWithValue("flags", flags);
        upsert.ExecuteNonQuery();
        return stored;
    }

    public HistoryRetentionResult ApplyRetention(DateTimeOffset now)
    {
        long rawBefore = RawFromMs(now);
        long rollupsBefore = HistorySql.FloorHour(now.ToUnixTimeMilliseconds() - (long)options.RollupRetention.TotalMilliseconds);
        long raw = 0, rollups = 0;
        lock (_writeLock)
        {
            Read(c =>
            {
                // Recorded before anything goes, so no window of a deleted hour is stored again from then on; it only moves forward.
                using (var cut = new NpgsqlCommand(
                    """
                    INSERT INTO meta (key, value) VALUES ('raw_cut', @v) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                    WHERE meta.value::bigint < excluded.value::bigint
                    """,
                    c))
                {
                    cut.Parameters.AddWithValue("v", rawBefore.ToString(CultureInfo.InvariantCulture));
                    cut.ExecuteNonQuery();
                }

                long[] channels = [.. ReadChannels(c, null, null, null, null).Select(ch => ch.Id)];
                for (int i = 0; i < channels.Length; i += RetentionChunk)
                {
                    long[] chunk = channels[i..Math.Min(i + RetentionChunk, channels.Length)];
                    using NpgsqlTransaction tx = c.BeginTransaction();
                    // A window that ends at the cut lies wholly before it; one that straddles it goes with the next pass.
                    raw += Delete(c, tx, "DELETE FROM windows WHERE channel = ANY(@channels) AND end_ms <= @before", chunk, rawBefore);
                    rollups += Delete(c, tx, "DELETE FROM rollups WHERE channel = ANY(@channels) AND hour_ms < @before", chunk, rollupsBefore);
                    tx.Commit();
                }

                return raw;
            });
        }

        return new HistoryRetentionResult(raw, rollups, DateTimeOffset.FromUnixTimeMilliseconds(rawBefore), DateTimeOffset.FromUnixTimeMilliseconds(rollupsBefore));
    }

    private static int Delete(NpgsqlConnection c, NpgsqlTransaction tx, string sql, long[] channels, long before)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        cmd.Parameters.AddWithValue("channels", channels);
        cmd.Parameters.AddWithValue("before", before);
        return cmd.ExecuteNonQuery();
    }

    // Before Open the history holds nothing, as the SQLite one's catalog is empty until it is read: outputs that start
    // before the history (the open-data archive) see no channels rather than an error.
    public IReadOnlyList<HistoryChannel> Channels(string? site = null, string? node = null, string? sensor = null, string? quantity = null) =>
        IsOpen ? Read(c => ReadChannels(c, site, node, sensor, quantity)) : [];

    public HistoryPage Query(HistoryQuery query)
    {
        HistorySql.Check(query);
        if (!IsOpen)
        {
            return new HistoryPage([], null);
        }

        long rawFrom = RawFromMs(time.GetUtcNow());
        return Read(c => HistorySql.Page(c, query, ReadChannels(c, query.Site, query.Node, query.Sensor, query.Quantity), rawFrom));
    }

    public IEnumerable<HistoryRow> Scan(HistoryScan scan, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Channels.Count == 0 || scan.Limit is <= 0 || !IsOpen)
        {
            yield break;
        }

        Dictionary<long, HistoryChannel> channels = scan.Channels.DistinctBy(c => c.Id).ToDictionary(c => c.Id);
        // Opened, executed and read step by step, so a failure at any of them is reported as the others are.
        using NpgsqlConnection connection = Wrap(Db.OpenConnection);
        using NpgsqlCommand cmd = connection.CreateCommand();
        cmd.Parameters.AddWithValue("channels", channels.Keys.Order().ToArray());
        HistorySql.Scan(cmd, scan, "channel = ANY(@channels)", count: false);
        using NpgsqlDataReader reader = Wrap(() => cmd.ExecuteReader());
        using IEnumerator<HistoryRow> rows = HistorySql.Read(reader, channels, ct).GetEnumerator();
        while (Wrap(rows.MoveNext))
        {
            yield return rows.Current;
        }
    }

    public long Count(HistoryScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Channels.Count == 0 || !IsOpen)
        {
            return 0;
        }

        return Read(c =>
        {
            using NpgsqlCommand cmd = c.CreateCommand();
            cmd.Parameters.AddWithValue("channels", scan.Channels.Select(ch => ch.Id).Distinct().Order().ToArray());
            HistorySql.Scan(cmd, scan, "channel = ANY(@channels)", count: true);
            return (long)cmd.ExecuteScalar()!;
        });
    }

    public void Dispose()
    {
        lock (_writeLock)
        {
            _db?.Dispose();
            _db = null;
        }
    }

    private T Read<T>(Func<NpgsqlConnection, T> work) => PostgresDatabase.Run(Db, Location, work);

    private T Wrap<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (NpgsqlException e)
        {
            throw PostgresDatabase.Failure(Location, e);
        }
    }

    /// <summary>The channels matching the filter (null matches everything), in id order as queries page by it.</summary>
    private static List<HistoryChannel> ReadChannels(NpgsqlConnection c, string? site, string? node, string? sensor, string? quantity)
    {
        using NpgsqlCommand cmd = c.CreateCommand();
        var where = new List<string>();
        foreach ((string column, string? value) in new[] { ("n.site", site), ("n.node", node), ("c.sensor", sensor), ("c.quantity", quantity) })
        {
            if (value is not null)
            {
                string name = "p" + where.Count.ToString(CultureInfo.InvariantCulture);
                where.Add($"{column} = @{name}");
                cmd.Parameters.AddWithValue(name, value);
            }
        }

        cmd.CommandText = $"SELECT c.id, n.site, n.node, c.sensor, c.quantity, c.unit FROM channels c JOIN nodes n ON n.id = c.node {(where.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", where))} ORDER BY c.id";
        var list = new List<HistoryChannel>();
        using NpgsqlDataReader r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new HistoryChannel(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5)));
        }

        return list;
    }

    private static long RawCut(NpgsqlConnection c, NpgsqlTransaction tx)
    {
        using var cmd = new NpgsqlCommand("SELECT value FROM meta WHERE key = 'raw_cut'", c, tx);
        return cmd.ExecuteScalar() is string v ? long.Parse(v, CultureInfo.InvariantCulture) : long.MinValue;
    }

    private Entry Channel(NpgsqlConnection c, NpgsqlTransaction tx, in TelemetryMessage m)
    {
        if (_channels.TryGetValue((m.Site, m.Node, m.Sensor, m.Quantity), out Entry? known) && known.Unit == m.Unit)
        {
            return known;
        }

        long nodeId;
        // Another gateway may have added the node or the channel: an upsert returns the id either way.
        using (var n = new NpgsqlCommand("INSERT INTO nodes (site, node) VALUES (@site, @node) ON CONFLICT (site, node) DO UPDATE SET node = excluded.node RETURNING id", c, tx))
        {
            n.Parameters.AddWithValue("site", m.Site);
            n.Parameters.AddWithValue("node", m.Node);
            nodeId = (long)n.ExecuteScalar()!;
        }

        // A channel whose unit changed (a firmware update) keeps its id and takes the new unit.
        using var ch = new NpgsqlCommand(
            """
            INSERT INTO channels (node, sensor, quantity, unit) VALUES (@node, @sensor, @quantity, @unit)
            ON CONFLICT (node, sensor, quantity) DO UPDATE SET unit = excluded.unit RETURNING id
            """,
            c,
            tx);
        ch.Parameters.AddWithValue("node", nodeId);
        ch.Parameters.AddWithValue("sensor", m.Sensor);
        ch.Parameters.AddWithValue("quantity", m.Quantity);
        ch.Parameters.AddWithValue("unit", m.Unit);
        var entry = new Entry((long)ch.ExecuteScalar()!, nodeId, m.Unit);
        _channels[(m.Site, m.Node, m.Sensor, m.Quantity)] = entry;
        return entry;
    }

    private sealed record Entry(long Channel, long NodeId, string Unit);

    /// <summary>A batch of windows as one array per column, for one unnest.</summary>
    private sealed class WindowArrays(int capacity)
    {
        private readonly List<long> _channel = new(capacity), _end = new(capacity), _length = new(capacity), _node = new(capacity), _seq = new(capacity), _count = new(capacity);
        private readonly List<double> _min = new(capacity), _max = new(capacity), _mean = new(capacity), _stddev = new(capacity), _first = new(capacity), _last = new(capacity);
        private readonly List<int> _flags = new(capacity), _backfill = new(capacity);

        public int Count => _channel.Count;

        public void Add(in TelemetryMessage m, Entry channel)
        {
            long end = m.WindowEnd.ToUnixTimeMilliseconds();
            _channel.Add(channel.Channel);
            _end.Add(end);
            _length.Add(end - m.WindowStart.ToUnixTimeMilliseconds());
            _node.Add(channel.NodeId);
            _seq.Add(m.Sequence);
            _count.Add(m.Count);
            _min.Add(m.Min);
            _max.Add(m.Max);
            _mean.Add(m.Mean);
            _stddev.Add(m.StdDev);
            _first.Add(m.First);
            _last.Add(m.Last);
            _flags.Add((int)m.Flags);
            _backfill.Add(m.Backfill ? 1 : 0);
        }

        public void Bind(NpgsqlCommand cmd)
        {
            cmd.Parameters.AddWithValue("channel", _channel.ToArray());
            cmd.Parameters.AddWithValue("end", _end.ToArray());
            cmd.Parameters.AddWithValue("length", _length.ToArray());
            cmd.Parameters.AddWithValue("node", _node.ToArray());
            cmd.Parameters.AddWithValue("seq", _seq.ToArray());
            cmd.Parameters.AddWithValue("count", _count.ToArray());
            cmd.Parameters.AddWithValue("min", _min.ToArray());
            cmd.Parameters.AddWithValue("max", _max.ToArray());
            cmd.Parameters.AddWithValue("mean", _mean.ToArray());
            cmd.Parameters.AddWithValue("stddev", _stddev.ToArray());
            cmd.Parameters.AddWithValue("first", _first.ToArray());
            cmd.Parameters.AddWithValue("last", _last.ToArray());
            cmd.Parameters.AddWithValue("flags", _flags.ToArray());
            cmd.Parameters.AddWithValue("backfill", _backfill.ToArray());
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "History: {Location} open, {Channels} channels")]
    private partial void LogOpened(string location, int channels);
}
