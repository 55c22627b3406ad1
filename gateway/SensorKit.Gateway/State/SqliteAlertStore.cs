using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Fleet;
using SensorKit.Gateway.Storage;

namespace SensorKit.Gateway.State;

/// <summary>An active alert as stored: enough to continue its lifecycle after a restart.</summary>
public sealed class StoredAlert
{
    public required string AlertId { get; set; }

    public required string Rule { get; set; }

    public required string Site { get; set; }

    public required string Subject { get; set; }

    public string Audience { get; set; } = "Public";

    public int Revision { get; set; }

    public DateTimeOffset RaisedAt { get; set; }

    public int Level { get; set; }

    public bool Confirmed { get; set; }

    public string Members { get; set; } = string.Empty;

    public List<string> Nodes { get; set; } = [];

    // The evidence of the last step, so a cancel can say what it withdraws.
    public string Quantity { get; set; } = string.Empty;

    public string Unit { get; set; } = string.Empty;

    public double Value { get; set; }

    public double Threshold { get; set; }

    public int NodesReporting { get; set; } = 1;

    public List<string> Detail { get; set; } = [];

    /// <summary>Every CAP message of the alert so far; a follow-up references all of them (CAP 1.2 §3.2.1).</summary>
    public List<StoredReference> References { get; set; } = [];

    /// <summary>The identifier of the last step (raise, update): its JSON is the alert's retained state.</summary>
    public string LastIdentifier { get; set; } = string.Empty;

    /// <summary>When the alert's latest CAP message expires; null for alerts stored before messages carried one.</summary>
    public DateTimeOffset? Expires { get; set; }

    /// <summary>CAP re-issues of the current revision, for their identifiers.</summary>
    public int Reissues { get; set; }

    /// <summary>Withdrawn by an operator: kept, unpublished, so the still-true condition does not raise it again.</summary>
    public bool Cancelled { get; set; }
}

public sealed record StoredReference(string Sender, string Identifier, DateTimeOffset Sent);

/// <summary>
/// One alert message as published: its JSON, its CAP document and what the feed shows of it. A CAP re-issue
/// (<see cref="Reissued"/>) has no JSON of its own.
/// </summary>
public sealed record StoredMessage
{
    public required string Identifier { get; init; }

    public required string AlertId { get; init; }

    public required string Site { get; init; }

    public required string Rule { get; init; }

    public required string Subject { get; init; }

    public required int Revision { get; init; }

    public required string State { get; init; }

    public required DateTimeOffset Sent { get; init; }

    public required string Title { get; init; }

    public string? Summary { get; init; }

    public string? Language { get; init; }

    public required byte[] Json { get; init; }

    public byte[]? Cap { get; init; }

    public bool Published { get; init; }

    /// <summary><see cref="State"/> of a CAP re-issue before expiry: published on the cap topic only.</summary>
    public const string Reissued = "reissued";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(StoredAlert))]
internal sealed partial class StateJsonContext : JsonSerializerContext;

/// <summary>
/// The gateway's durable state in one SQLite file (the default for a single gateway; a gateway group keeps it in
/// PostgreSQL): active alerts, every alert message (JSON and CAP, with a flag
/// once it reached the broker), rule state (rate-of-change windows, baselines, hold timers) and the last status of
/// every node. An alert step is one transaction together with the rule state that produced it, so a restart
/// resumes exactly after the last published step. WAL with synchronous=FULL: a committed step survives a power cut.
/// </summary>
public sealed partial class SqliteAlertStore : IAlertStore
{
    public const string FileName = "gateway-state.db";
    private const int SchemaVersion = 1;

    public string Location => DatabasePath;

    private readonly Lock _lock = new();
    private readonly ArrayBufferWriter<byte> _snapshot = new(4096);
    private readonly ILogger<SqliteAlertStore> _logger;
    private SqliteConnection? _db;

    public SqliteAlertStore(IOptions<StateOptions> options, IHostEnvironment environment, ILogger<SqliteAlertStore> logger)
    {
        _logger = logger;
        DatabasePath = Path.Combine(options.Value.ResolveDirectory(environment.ContentRootPath), FileName);
    }

    public string DatabasePath { get; }

    private SqliteConnection Db => _db ?? throw new InvalidOperationException("The alert store is not open.");

    /// <summary>Creates the folder and the schema if needed. Idempotent.</summary>
    public void Open()
    {
        lock (_lock)
        {
            if (_db is not null)
            {
                return;
            }

            SqliteConnection db = StateDatabase.Create(DatabasePath, """
                CREATE TABLE IF NOT EXISTS alerts (
                    site TEXT NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL,
                    alert_id TEXT NOT NULL, record TEXT NOT NULL,
                    PRIMARY KEY (site, rule, subject));
                CREATE TABLE IF NOT EXISTS messages (
                    identifier TEXT PRIMARY KEY, alert_id TEXT NOT NULL,
                    site TEXT NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL,
                    revision INTEGER NOT NULL, state TEXT NOT NULL, sent_ms INTEGER NOT NULL, sent TEXT NOT NULL,
                    title TEXT NOT NULL, summary TEXT, language TEXT,
                    json BLOB NOT NULL, cap BLOB, published INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX IF NOT EXISTS messages_alert ON messages (alert_id, sent_ms);
                CREATE INDEX IF NOT EXISTS messages_sent ON messages (sent_ms);
                CREATE TABLE IF NOT EXISTS rule_state (key TEXT PRIMARY KEY, data BLOB NOT NULL, site TEXT NOT NULL DEFAULT '');
                CREATE TABLE IF NOT EXISTS nodes (site TEXT NOT NULL, node TEXT NOT NULL, status BLOB NOT NULL, PRIMARY KEY (site, node));
                """, SchemaVersion, "state", schemaFailureIsUnusable: false);

            AddSiteColumn(db);
            _db = db;
            LogOpened(DatabasePath);
        }
    }

    /// <summary>Files written before rule state knew its site get the column; their rows belong to the one gateway (site '').</summary>
    private static void AddSiteColumn(SqliteConnection db)
    {
        using SqliteCommand cmd = db.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM pragma_table_info('rule_state') WHERE name = 'site'";
        if ((long)cmd.ExecuteScalar()! == 0)
        {
            StateDatabase.Execute(db, "ALTER TABLE rule_state ADD COLUMN site TEXT NOT NULL DEFAULT ''");
        }
    }

    public IReadOnlyList<StoredAlert> LoadAlerts(string? site = null) => Query(cmd => AlertStoreSql.ReadAlerts(cmd, site));

    /// <summary>
    /// Stores one alert step atomically: the message, the alert's new record (or its removal when it ended)
    /// and the dirty rule state that led to it.
    /// </summary>
    public void CommitStep(StoredAlert alert, bool ended, StoredMessage? message, IEnumerable<IPersistentState> dirty)
    {
        lock (_lock)
        {
            try
            {
                CommitStepLocked(alert, ended, message, dirty);
            }
            catch (SqliteException e)
            {
                throw new StateStoreException(e.Message, e);
            }
        }
    }

    private void CommitStepLocked(StoredAlert alert, bool ended, StoredMessage? message, IEnumerable<IPersistentState> dirty)
    {
        using SqliteTransaction tx = Db.BeginTransaction();
        using (SqliteCommand cmd = Db.CreateCommand())
        {
            cmd.Transaction = tx;
            AlertStoreSql.BindAlert(cmd, alert, ended);
            cmd.ExecuteNonQuery();
        }

        if (message is not null)
        {
            using SqliteCommand cmd = Db.CreateCommand();
            cmd.Transaction = tx;
            AlertStoreSql.BindMessage(cmd, message);
            cmd.ExecuteNonQuery();
        }

        WriteStates(tx, dirty);
        tx.Commit();
    }

    /// <summary>Notes that a message reached the broker, so a restart does not send it again.</summary>
    public void MarkPublished(string identifier)
    {
        lock (_lock)
        {
            if (_db is null)
            {
                return;
            }

            try
            {
                using SqliteCommand cmd = _db.CreateCommand();
                AlertStoreSql.MarkPublishedOn(cmd, identifier);
            }
            catch (SqliteException e)
            {
                throw new StateStoreException(e.Message, e);
            }
        }
    }

    /// <summary>Messages stored but not yet acknowledged by the broker, oldest first.</summary>
    public IReadOnlyList<StoredMessage> LoadUnpublished(string? site = null) => Query(cmd => AlertStoreSql.Unpublished(cmd, site, "rowid"));

    public StoredMessage? LoadMessage(string identifier) => Query(cmd => AlertStoreSql.Message(cmd, identifier));

    /// <summary>
    /// Messages of the alerts that are active or ended at or after <paramref name="since"/>, newest first, with
    /// CAP documents only: what the Atom feed lists.
    /// </summary>
    public IReadOnlyList<StoredMessage> LoadFeed(DateTimeOffset since, int max) => Query(cmd => AlertStoreSql.Feed(cmd, since, max));

    private T Query<T>(Func<SqliteCommand, T> query)
    {
        lock (_lock)
        {
            using SqliteCommand cmd = Db.CreateCommand();
            return query(cmd);
        }
    }

    /// <summary>The persisted rule state by key.</summary>
    public IReadOnlyDictionary<string, byte[]> LoadStates(string? site = null) => Query(cmd => AlertStoreSql.ReadStates(cmd, site));

    /// <summary>Writes rule state outside an alert step (the periodic flush and shutdown) in one transaction; returns the keys of states that could not be serialised.</summary>
    public IReadOnlyList<string> SaveStates(IEnumerable<IPersistentState> dirty)
    {
        lock (_lock)
        {
            if (_db is null)
            {
                return [];
            }

            try
            {
                using SqliteTransaction tx = _db.BeginTransaction();
                List<string> failed = WriteStates(tx, dirty);
                tx.Commit();
                return failed;
            }
            catch (SqliteException e)
            {
                throw new StateStoreException(e.Message, e);
            }
        }
    }

    private List<string> WriteStates(SqliteTransaction tx, IEnumerable<IPersistentState> dirty)
    {
        using SqliteCommand cmd = Db.CreateCommand();
        cmd.Transaction = tx;
        return AlertStoreSql.WriteStates(cmd, dirty, _snapshot);
    }

    public void SaveNode(string site, string node, byte[] status)
    {
        lock (_lock)
        {
            try
            {
                using SqliteCommand cmd = Db.CreateCommand();
                cmd.CommandText = AlertStoreSql.UpsertNode;
                AlertStoreSql.Bind(cmd, "@site", site);
                AlertStoreSql.Bind(cmd, "@node", node);
                AlertStoreSql.Bind(cmd, "@status", status);
                cmd.ExecuteNonQuery();
            }
            catch (SqliteException e)
            {
                throw new StateStoreException(e.Message, e);
            }
        }
    }

    public IReadOnlyList<byte[]> LoadNodes(string? site = null) => Query(cmd => AlertStoreSql.ReadNodes(cmd, site));

    /// <summary>Deletes the messages of alerts that ended before <paramref name="before"/>.</summary>
    public int Prune(DateTimeOffset before)
    {
        lock (_lock)
        {
            if (_db is null)
            {
                return 0;
            }

            try
            {
                return PruneLocked(_db, before);
            }
            catch (SqliteException e)
            {
                throw new StateStoreException(e.Message, e);
            }
        }
    }

    private static int PruneLocked(SqliteConnection db, DateTimeOffset before)
    {
        using SqliteCommand cmd = db.CreateCommand();
        return AlertStoreSql.PruneOn(cmd, before);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _db?.Dispose();
            _db = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert state in {Path}")]
    private partial void LogOpened(string path);
}
