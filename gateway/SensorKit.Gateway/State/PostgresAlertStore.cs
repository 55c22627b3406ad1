using System.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Storage;

namespace SensorKit.Gateway.State;

/// <summary>
/// The gateway's durable state in PostgreSQL (State:Provider PostgreSql), the tables of <see cref="SqliteAlertStore"/>
/// on a pooled data source that the gateways of a group share. In a group (<see cref="ISiteOwnership.Member"/> set)
/// every write for a site checks, in its own transaction, that this gateway still holds the site's lease with its
/// fencing token; <c>FOR SHARE</c> keeps the row from being taken over until the write commits. A write for a site
/// not held stores nothing of it. Every database failure, of a read or a write, is a <see cref="StateStoreException"/>:
/// writes stay dirty and are retried, a read at start stops the start (the service manager starts the gateway again).
/// </summary>
public sealed partial class PostgresAlertStore(IOptions<StateOptions> options, ISiteOwnership ownership, ILogger<PostgresAlertStore> logger) : IAlertStore
{
    private const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS alerts (
            site text NOT NULL, rule text NOT NULL, subject text NOT NULL,
            alert_id text NOT NULL, record text NOT NULL,
            PRIMARY KEY (site, rule, subject));
        CREATE TABLE IF NOT EXISTS messages (
            identifier text PRIMARY KEY, position bigint GENERATED ALWAYS AS IDENTITY, alert_id text NOT NULL,
            site text NOT NULL, rule text NOT NULL, subject text NOT NULL,
            revision integer NOT NULL, state text NOT NULL, sent_ms bigint NOT NULL, sent text NOT NULL,
            title text NOT NULL, summary text, language text,
            json bytea NOT NULL, cap bytea, published boolean NOT NULL DEFAULT false);
        CREATE INDEX IF NOT EXISTS messages_alert ON messages (alert_id, sent_ms);
        CREATE INDEX IF NOT EXISTS messages_sent ON messages (sent_ms);
        CREATE INDEX IF NOT EXISTS messages_unpublished ON messages (site, sent_ms) WHERE NOT published;
        CREATE TABLE IF NOT EXISTS rule_state (key text PRIMARY KEY, data bytea NOT NULL, site text NOT NULL DEFAULT '');
        CREATE INDEX IF NOT EXISTS rule_state_site ON rule_state (site);
        CREATE TABLE IF NOT EXISTS nodes (site text NOT NULL, node text NOT NULL, status bytea NOT NULL, PRIMARY KEY (site, node));
        -- The gateway group's leases; created here too, so the store stands on its own.
        CREATE TABLE IF NOT EXISTS site_leases (site text PRIMARY KEY, holder text, token bigint NOT NULL, expires timestamptz NOT NULL);
        """;

    private const string LeaseHeld = "SELECT 1 FROM site_leases WHERE site = @site AND holder = @member AND token = @token AND expires > now() FOR SHARE";

    private readonly StateOptions _options = options.Value;
    private readonly Lock _lock = new();
    private NpgsqlDataSource? _db;

    public string Location => PostgresDatabase.Describe(_options);

    private NpgsqlDataSource Db => Volatile.Read(ref _db) ?? throw new InvalidOperationException("The alert store is not open.");

    public void Open()
    {
        lock (_lock)
        {
            if (_db is not null)
            {
                return;
            }

            _db = PostgresDatabase.Open(_options, searchPath: null, Schema, SchemaVersion, "state");
            LogOpened(Location);
        }
    }

    public IReadOnlyList<StoredAlert> LoadAlerts(string? site = null) => Query(cmd => AlertStoreSql.ReadAlerts(cmd, site));

    public void CommitStep(StoredAlert alert, bool ended, StoredMessage? message, IEnumerable<IPersistentState> dirty)
    {
        string? refused = Run(c =>
        {
            using NpgsqlTransaction tx = c.BeginTransaction();
            if (!Holds(c, tx, alert.Site, out string reason))
            {
                tx.Rollback();
                return reason;
            }

            using (NpgsqlCommand cmd = Command(c, tx))
            {
                AlertStoreSql.BindAlert(cmd, alert, ended);
                cmd.ExecuteNonQuery();
            }

            if (message is not null)
            {
                using NpgsqlCommand cmd = Command(c, tx);
                AlertStoreSql.BindMessage(cmd, message);
                cmd.ExecuteNonQuery();
            }

            // The step's own site is fenced above; the rule state of other sites goes along only while this member holds them.
            WriteStates(c, tx, dirty.Where(s => s.Site == alert.Site || ownership.TryGetToken(s.Site, out _)));

            tx.Commit();
            return null;
        });
        if (refused is not null)
        {
            throw Refuse(alert.Site, refused);
        }
    }

    public void MarkPublished(string identifier)
    {
        if (Volatile.Read(ref _db) is null)
        {
            return;
        }

        Query(cmd => AlertStoreSql.MarkPublishedOn(cmd, identifier));
    }

    public IReadOnlyList<StoredMessage> LoadUnpublished(string? site = null) => Query(cmd => AlertStoreSql.Unpublished(cmd, site, "position"));

    public StoredMessage? LoadMessage(string identifier) => Query(cmd => AlertStoreSql.Message(cmd, identifier));

    public IReadOnlyList<StoredMessage> LoadFeed(DateTimeOffset since, int max) => Query(cmd => AlertStoreSql.Feed(cmd, since, max));

    public IReadOnlyDictionary<string, byte[]> LoadStates(string? site = null) => Query(cmd => AlertStoreSql.ReadStates(cmd, site));

    /// <summary>
    /// Writes rule state in one transaction; in a group, the states of a site this gateway no longer holds are left
    /// out (and the site reported lost), the others written.
    /// </summary>
    public IReadOnlyList<string> SaveStates(IEnumerable<IPersistentState> dirty)
    {
        if (Volatile.Read(ref _db) is null)
        {
            return [];
        }

        List<IPersistentState> states = [.. dirty];
        var refused = new List<(string Site, string Reason)>();
        List<string> failed = Run(c =>
        {
            refused.Clear();
            using NpgsqlTransaction tx = c.BeginTransaction();
            var held = new List<IPersistentState>(states.Count);
            foreach (IGrouping<string, IPersistentState> site in states.GroupBy(s => s.Site, StringComparer.Ordinal))
            {
                if (Holds(c, tx, site.Key, out string reason))
                {
                    held.AddRange(site);
                }
                else
                {
                    refused.Add((site.Key, reason));
                }
            }

            List<string> unwritable = WriteStates(c, tx, held);
            tx.Commit();
            return unwritable;
        });
        foreach ((string site, string reason) in refused)
        {
            LogStatesFenced(site, reason);
            ownership.Lost(site, reason);
        }

        return failed;
    }

    public void SaveNode(string site, string node, byte[] status)
    {
        string? refused = Run(c =>
        {
            using NpgsqlTransaction tx = c.BeginTransaction();
            if (!Holds(c, tx, site, out string reason))
            {
                tx.Rollback();
                return reason;
            }

            using NpgsqlCommand cmd = Command(c, tx);
            cmd.CommandText = AlertStoreSql.UpsertNode;
            AlertStoreSql.Bind(cmd, "@site", site);
            AlertStoreSql.Bind(cmd, "@node", node);
            AlertStoreSql.Bind(cmd, "@status", status);
            cmd.ExecuteNonQuery();
            tx.Commit();
            return null;
        });
        if (refused is not null)
        {
            throw Refuse(site, refused);
        }
    }

    public IReadOnlyList<byte[]> LoadNodes(string? site = null) => Query(cmd => AlertStoreSql.ReadNodes(cmd, site));

    public int Prune(DateTimeOffset before)
    {
        if (Volatile.Read(ref _db) is null)
        {
            return 0;
        }

        return Query(cmd => AlertStoreSql.PruneOn(cmd, before));
    }

    public void Dispose() => Interlocked.Exchange(ref _db, null)?.Dispose();

    /// <summary>
    /// Whether this gateway may write for <paramref name="site"/> in <paramref name="tx"/>: alone always; in a group
    /// while its lease row with the token it holds is unexpired, which the row lock keeps so until the commit.
    /// </summary>
    private bool Holds(NpgsqlConnection c, NpgsqlTransaction tx, string site, out string reason)
    {
        reason = string.Empty;
        if (ownership.Member is not { } member)
        {
            return true;
        }

        if (!ownership.TryGetToken(site, out long token))
        {
            reason = $"the lease of site '{site}' ran out by this gateway's clock";
            return false;
        }

        using NpgsqlCommand cmd = Command(c, tx);
        cmd.CommandText = LeaseHeld;
        AlertStoreSql.Bind(cmd, "@site", site);
        AlertStoreSql.Bind(cmd, "@member", member);
        AlertStoreSql.Bind(cmd, "@token", token);
        if (cmd.ExecuteScalar() is null)
        {
            reason = $"the database holds no unexpired lease of site '{site}' for {member} with token {token}";
            return false;
        }

        return true;
    }

    private SiteNotHeldException Refuse(string site, string reason)
    {
        ownership.Lost(site, reason);
        return new SiteNotHeldException(site, reason);
    }

    private static NpgsqlCommand Command(NpgsqlConnection c, NpgsqlTransaction tx) => new(null, c, tx);

    /// <summary>
    /// Every state in one statement: a flush of tens of thousands of channels is one round trip, not one per state,
    /// and the rule engine waits for it.
    /// </summary>
    private static List<string> WriteStates(NpgsqlConnection c, NpgsqlTransaction tx, IEnumerable<IPersistentState> states)
    {
        var failed = new List<string>();
        List<(string Key, string Site, byte[] Data)> rows = AlertStoreSql.Snapshots(states, new ArrayBufferWriter<byte>(4096), failed);
        if (rows.Count > 0)
        {
            using var cmd = new NpgsqlCommand(
                """
                INSERT INTO rule_state (key, data, site) SELECT * FROM unnest(@keys::text[], @data::bytea[], @sites::text[])
                ON CONFLICT (key) DO UPDATE SET data = excluded.data, site = excluded.site
                """,
                c,
                tx);
            cmd.Parameters.AddWithValue("keys", rows.Select(r => r.Key).ToArray());
            cmd.Parameters.AddWithValue("data", rows.Select(r => r.Data).ToArray());
            cmd.Parameters.AddWithValue("sites", rows.Select(r => r.Site).ToArray());
            cmd.ExecuteNonQuery();
        }

        return failed;
    }

    private T Run<T>(Func<NpgsqlConnection, T> work) => PostgresDatabase.Run(Db, Location, work);

    /// <summary>One statement outside a transaction: a read, or a write that needs no fencing.</summary>
    private T Query<T>(Func<NpgsqlCommand, T> query) => Run(c =>
    {
        using NpgsqlCommand cmd = c.CreateCommand();
        return query(cmd);
    });

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert state in {Location}")]
    private partial void LogOpened(string location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rule state of site {Site} not written, this gateway no longer holds it ({Reason})")]
    private partial void LogStatesFenced(string site, string reason);
}
