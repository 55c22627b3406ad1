using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway.Storage;
using SensorKit.Protocol;

namespace SensorKit.Gateway.History;

/// <summary>
/// The history in one SQLite file (history.db beside the alert state): raw windows clustered by channel and time,
/// hourly rollups merged as windows arrive, integer ids for nodes and channels. WAL with synchronous=FULL, so a
/// committed batch survives a power cut and readers never wait for the writer. docs/history.md has the schema.
/// </summary>
public sealed partial class SqliteTelemetryHistory : ITelemetryHistory
{
    public const string FileName = "history.db";
    private const int SchemaVersion = 1;

    /// <summary>Channels per retention transaction, so the writer never holds the database for long.</summary>
    private const int RetentionChunk = 64;

    private readonly HistoryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SqliteTelemetryHistory> _logger;
    private readonly string _readConnection;
    private readonly Lock _writeLock = new();
    private readonly Lock _catalogLock = new();
    private readonly Dictionary<(string Site, string Node), long> _nodes = [];
    private readonly Dictionary<(string Site, string Node, string Sensor, string Quantity), Entry> _channels = [];
    private readonly Dictionary<(long Channel, long Hour), RollupMath> _rollups = [];
    private HistoryChannel[] _list = [];

    // The raw cut of the last retention pass: windows starting before it are gone, so a copy could not be recognised.
    private long _rawCut = long.MinValue;
    private SqliteConnection? _db;
    private RawStatement? _insert;
    private RawStatement? _upsert;

    public SqliteTelemetryHistory(string databasePath, HistoryOptions options, TimeProvider time, ILogger<SqliteTelemetryHistory> logger)
    {
        DatabasePath = databasePath;
        _options = options;
        _time = time;
        _logger = logger;
        _readConnection = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = true }.ToString();
    }

    public string DatabasePath { get; }

    private SqliteConnection Db => _db ?? throw new InvalidOperationException("The history is not open.");

    public void Open()
    {
        lock (_writeLock)
        {
            if (_db is not null)
            {
                return;
            }

            SqliteConnection db = StateDatabase.Create(DatabasePath, """
                    PRAGMA cache_size = -32768;
                    PRAGMA wal_autocheckpoint = 8192;
                    CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, site TEXT NOT NULL, node TEXT NOT NULL, UNIQUE (site, node));
                    CREATE TABLE IF NOT EXISTS channels (
                        id INTEGER PRIMARY KEY, node INTEGER NOT NULL REFERENCES nodes (id),
                        sensor TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL, UNIQUE (node, sensor, quantity));
                    CREATE TABLE IF NOT EXISTS windows (
                        channel INTEGER NOT NULL, end_ms INTEGER NOT NULL, length_ms INTEGER NOT NULL,
                        node INTEGER NOT NULL, seq INTEGER NOT NULL, count INTEGER NOT NULL,
                        min REAL NOT NULL, max REAL NOT NULL, mean REAL NOT NULL, stddev REAL NOT NULL,
                        first REAL NOT NULL, last REAL NOT NULL, flags INTEGER NOT NULL, backfill INTEGER NOT NULL,
                        PRIMARY KEY (channel, end_ms)) WITHOUT ROWID;
                    CREATE UNIQUE INDEX IF NOT EXISTS windows_seq ON windows (node, seq);
                    CREATE TABLE IF NOT EXISTS rollups (
                        channel INTEGER NOT NULL, hour_ms INTEGER NOT NULL, windows INTEGER NOT NULL, count INTEGER NOT NULL,
                        min REAL NOT NULL, max REAL NOT NULL, mean REAL NOT NULL, m2 REAL NOT NULL, flags INTEGER NOT NULL,
                        PRIMARY KEY (channel, hour_ms)) WITHOUT ROWID;
                    """, SchemaVersion, "history", schemaFailureIsUnusable: true);

            _db = db;
            using (SqliteCommand cut = db.CreateCommand())
            {
                cut.CommandText = "SELECT value FROM meta WHERE key = 'raw_cut'";
                _rawCut = cut.ExecuteScalar() is string v ? long.Parse(v, CultureInfo.InvariantCulture) : long.MinValue;
            }

            _insert = new RawStatement(db, """
                INSERT OR IGNORE INTO windows (channel, end_ms, length_ms, node, seq, count, min, max, mean, stddev, first, last, flags, backfill)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                """);
            // Chan et al.'s merge (RollupMath) on the stored row; every right-hand side sees the row before the update.
            _upsert = new RawStatement(db, """
                INSERT INTO rollups (channel, hour_ms, windows, count, min, max, mean, m2, flags)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                ON CONFLICT (channel, hour_ms) DO UPDATE SET
                    windows = windows + excluded.windows,
                    count = count + excluded.count,
                    min = min(min, excluded.min),
                    max = max(max, excluded.max),
                    mean = mean + (excluded.mean - mean) * excluded.count / (count + excluded.count),
                    m2 = m2 + excluded.m2 + (excluded.mean - mean) * (excluded.mean - mean) * count * excluded.count / (count + excluded.count),
                    flags = flags | excluded.flags
                """);
            LoadCatalog();
            LogOpened(DatabasePath, _list.Length);
        }
    }

    /// <summary>The start of the oldest hour still kept raw at <paramref name="now"/>.</summary>
    public long RawFromMs(DateTimeOffset now) => HistorySql.FloorHour(now.ToUnixTimeMilliseconds() - (long)_options.RawRetention.TotalMilliseconds);

    public HistoryAppendResult Append(ReadOnlySpan<TelemetryMessage> windows)
    {
        lock (_writeLock)
        {
            RawStatement insert = _insert ?? throw new InvalidOperationException("The history is not open.");
            RawStatement upsert = _upsert!;
            int stored = 0, duplicates = 0, tooOld = 0;
            using SqliteTransaction tx = Db.BeginTransaction();
            try
            {
                _rollups.Clear();
                foreach (ref readonly TelemetryMessage m in windows)
                {
                    long start = m.WindowStart.ToUnixTimeMilliseconds();
                    long end = m.WindowEnd.ToUnixTimeMilliseconds();
                    if (start < _rawCut)
                    {
                        // Its hour's windows are deleted already: a copy could no longer be recognised as one.
                        tooOld++;
                        continue;
                    }

                    Entry channel = Channel(m, tx);
                    insert.Bind(1, channel.Channel.Id);
                    insert.Bind(2, end);
                    insert.Bind(3, end - start);
                    insert.Bind(4, channel.NodeId);
                    insert.Bind(5, m.Sequence);
                    insert.Bind(6, m.Count);
                    insert.Bind(7, m.Min);
                    insert.Bind(8, m.Max);
                    insert.Bind(9, m.Mean);
                    insert.Bind(10, m.StdDev);
                    insert.Bind(11, m.First);
                    insert.Bind(12, m.Last);
                    insert.Bind(13, (long)m.Flags);
                    insert.Bind(14, m.Backfill ? 1 : 0);
                    if (insert.Execute() == 0)
                    {
                        duplicates++;
                        continue;
                    }

                    stored++;
                    ref RollupMath r = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_rollups, (channel.Channel.Id, HistorySql.FloorHour(start)), out _);
                    r.AddWindow(m.Count, m.Min, m.Max, m.Mean, m.StdDev, m.Flags);
                }

                foreach (((long c, long hour), RollupMath r) in _rollups)
                {
                    upsert.Bind(1, c);
                    upsert.Bind(2, hour);
                    upsert.Bind(3, r.Windows);
                    upsert.Bind(4, r.Count);
                    upsert.Bind(5, r.Min);
                    upsert.Bind(6, r.Max);
                    upsert.Bind(7, r.Mean);
                    upsert.Bind(8, r.M2);
                    upsert.Bind(9, (long)r.Flags);
                    upsert.Execute();
                }

                tx.Commit();
            }
            catch
            {
                // Ids handed out in the rolled-back transaction do not exist: read the catalog afresh.
                LoadCatalog();
                throw;
            }

            return new HistoryAppendResult(stored, duplicates, tooOld);
        }
    }

    public HistoryRetentionResult ApplyRetention(DateTimeOffset now)
    {
        long rawBefore = RawFromMs(now);
        long rollupsBefore = HistorySql.FloorHour(now.ToUnixTimeMilliseconds() - (long)_options.RollupRetention.TotalMilliseconds);
        long raw = 0, rollups = 0;
        lock (_writeLock)
        {
            // Recorded before anything goes, so no window of a deleted hour is stored again from then on.
            if (rawBefore > _rawCut)
            {
                using SqliteCommand cut = Db.CreateCommand();
                cut.CommandText = "INSERT INTO meta (key, value) VALUES ('raw_cut', $v) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
                cut.Parameters.AddWithValue("$v", rawBefore.ToString(CultureInfo.InvariantCulture));
                cut.ExecuteNonQuery();
                _rawCut = rawBefore;
            }
        }

        HistoryChannel[] channels = Volatile.Read(ref _list);
        for (int i = 0; i < channels.Length; i += RetentionChunk)
        {
            lock (_writeLock)
            {
                using SqliteTransaction tx = Db.BeginTransaction();
                using SqliteCommand deleteRaw = Db.CreateCommand();
                using SqliteCommand deleteRollups = Db.CreateCommand();
                deleteRaw.Transaction = deleteRollups.Transaction = tx;
                // A window that ends at the cut lies wholly before it; one that straddles it goes with the next pass
                // (queries show its hour as a rollup already).
                deleteRaw.CommandText = "DELETE FROM windows WHERE channel = $c AND end_ms <= $before";
                deleteRollups.CommandText = "DELETE FROM rollups WHERE channel = $c AND hour_ms < $before";
                SqliteParameter rawChannel = deleteRaw.Parameters.Add("$c", SqliteType.Integer);
                deleteRaw.Parameters.AddWithValue("$before", rawBefore);
                SqliteParameter rollupChannel = deleteRollups.Parameters.Add("$c", SqliteType.Integer);
                deleteRollups.Parameters.AddWithValue("$before", rollupsBefore);
                foreach (HistoryChannel c in channels.AsSpan(i, Math.Min(RetentionChunk, channels.Length - i)))
                {
                    rawChannel.Value = c.Id;
                    rollupChannel.Value = c.Id;
                    raw += deleteRaw.ExecuteNonQuery();
                    rollups += deleteRollups.ExecuteNonQuery();
                }

                tx.Commit();
            }
        }

        return new HistoryRetentionResult(raw, rollups, DateTimeOffset.FromUnixTimeMilliseconds(rawBefore), DateTimeOffset.FromUnixTimeMilliseconds(rollupsBefore));
    }

    public IReadOnlyList<HistoryChannel> Channels(string? site = null, string? node = null, string? sensor = null, string? quantity = null) =>
        [.. Volatile.Read(ref _list).Where(c => HistorySql.Matches(c, site, node, sensor, quantity))];

    public HistoryPage Query(HistoryQuery query)
    {
        HistorySql.Check(query);
        using var db = new SqliteConnection(_readConnection);
        db.Open();
        return HistorySql.Page(db, query, Volatile.Read(ref _list), RawFromMs(_time.GetUtcNow()));
    }

    public void Dispose()
    {
        lock (_writeLock)
        {
            _insert?.Dispose();
            _upsert?.Dispose();
            _db?.Dispose();
            _insert = _upsert = null;
            _db = null;
        }

        // Pooled read connections hold the file open.
        using var pooled = new SqliteConnection(_readConnection);
        SqliteConnection.ClearPool(pooled);
    }

    private Entry Channel(in TelemetryMessage m, SqliteTransaction tx)
    {
        if (_channels.TryGetValue((m.Site, m.Node, m.Sensor, m.Quantity), out Entry? known) && known.Channel.Unit == m.Unit)
        {
            return known;
        }

        if (!_nodes.TryGetValue((m.Site, m.Node), out long nodeId))
        {
            using SqliteCommand n = Db.CreateCommand();
            n.Transaction = tx;
            n.CommandText = "INSERT INTO nodes (site, node) VALUES ($site, $node) RETURNING id";
            n.Parameters.AddWithValue("$site", m.Site);
            n.Parameters.AddWithValue("$node", m.Node);
            nodeId = (long)n.ExecuteScalar()!;
            _nodes[(m.Site, m.Node)] = nodeId;
        }

        using SqliteCommand c = Db.CreateCommand();
        c.Transaction = tx;
        // A channel whose unit changed (a firmware update) keeps its id and takes the new unit.
        c.CommandText = """
            INSERT INTO channels (node, sensor, quantity, unit) VALUES ($node, $sensor, $quantity, $unit)
            ON CONFLICT (node, sensor, quantity) DO UPDATE SET unit = excluded.unit RETURNING id
            """;
        c.Parameters.AddWithValue("$node", nodeId);
        c.Parameters.AddWithValue("$sensor", m.Sensor);
        c.Parameters.AddWithValue("$quantity", m.Quantity);
        c.Parameters.AddWithValue("$unit", m.Unit);
        long id = (long)c.ExecuteScalar()!;
        var entry = new Entry(new HistoryChannel(id, m.Site, m.Node, m.Sensor, m.Quantity, m.Unit), nodeId);
        lock (_catalogLock)
        {
            _channels[(m.Site, m.Node, m.Sensor, m.Quantity)] = entry;
            HistoryChannel[] list = _list;
            int at = Array.FindIndex(list, h => h.Id == id);
            if (at >= 0)
            {
                list = [.. list];
                list[at] = entry.Channel;
            }
            else
            {
                // Ids grow, so appending keeps the list in id order (queries page by it).
                list = [.. list, entry.Channel];
                if (list.Length > 1 && list[^2].Id > id)
                {
                    Array.Sort(list, (x, y) => x.Id.CompareTo(y.Id));
                }
            }

            Volatile.Write(ref _list, list);
        }

        return entry;
    }

    private void LoadCatalog()
    {
        lock (_catalogLock)
        {
            _nodes.Clear();
            _channels.Clear();
            using SqliteCommand cmd = Db.CreateCommand();
            cmd.CommandText = "SELECT n.id, n.site, n.node, c.id, c.sensor, c.quantity, c.unit FROM nodes n LEFT JOIN channels c ON c.node = n.id ORDER BY c.id";
            using SqliteDataReader r = cmd.ExecuteReader();
            while (r.Read())
            {
                (long nodeId, string site, string node) = (r.GetInt64(0), r.GetString(1), r.GetString(2));
                _nodes[(site, node)] = nodeId;
                if (!r.IsDBNull(3))
                {
                    var channel = new HistoryChannel(r.GetInt64(3), site, node, r.GetString(4), r.GetString(5), r.GetString(6));
                    _channels[(site, node, channel.Sensor, channel.Quantity)] = new Entry(channel, nodeId);
                }
            }

            Volatile.Write(ref _list, [.. _channels.Values.Select(e => e.Channel).OrderBy(h => h.Id)]);
        }
    }


    private sealed record Entry(HistoryChannel Channel, long NodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "History: {Path} open, {Channels} channels")]
    private partial void LogOpened(string path, int channels);
}
