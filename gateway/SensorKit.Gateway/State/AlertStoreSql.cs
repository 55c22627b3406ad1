using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.State;

/// <summary>
/// The SQL both alert stores run and how they bind and read it: SQLite and PostgreSQL accept the same statements
/// (named @parameters, ON CONFLICT upserts), so the two differ only in connections, transactions and fencing.
/// </summary>
internal static class AlertStoreSql
{
    public const string UpsertAlert = """
        INSERT INTO alerts (site, rule, subject, alert_id, record) VALUES (@site, @rule, @subject, @id, @record)
        ON CONFLICT (site, rule, subject) DO UPDATE SET alert_id = excluded.alert_id, record = excluded.record
        """;

    public const string DeleteAlert = "DELETE FROM alerts WHERE site = @site AND rule = @rule AND subject = @subject";

    public const string InsertMessage = """
        INSERT INTO messages (identifier, alert_id, site, rule, subject, revision, state, sent_ms, sent, title, summary, language, json, cap, published)
        VALUES (@identifier, @alert, @site, @rule, @subject, @revision, @state, @sentMs, @sent, @title, @summary, @language, @json, @cap, @published)
        """;

    /// <summary>The columns <see cref="ReadMessage"/> reads, in its order.</summary>
    private const string SelectMessages = "SELECT identifier, alert_id, site, rule, subject, revision, state, sent, title, summary, language, json, cap, published FROM messages";

    public const string MarkPublished = "UPDATE messages SET published = @published WHERE identifier = @identifier";

    /// <summary>Messages of alerts active or ended at or after @since, CAP only, newest first: the Atom feed.</summary>
    private const string FeedWhere = """
        WHERE cap IS NOT NULL AND (alert_id IN (SELECT alert_id FROM alerts)
            OR alert_id IN (SELECT alert_id FROM messages GROUP BY alert_id HAVING MAX(sent_ms) >= @since))
        ORDER BY sent_ms DESC, revision DESC LIMIT @max
        """;

    /// <summary>Published messages of alerts that ended before @before.</summary>
    public const string Prune = """
        DELETE FROM messages WHERE published = @published AND alert_id NOT IN (SELECT alert_id FROM alerts)
            AND alert_id IN (SELECT alert_id FROM messages GROUP BY alert_id HAVING MAX(sent_ms) < @before)
        """;

    public const string UpsertState = "INSERT INTO rule_state (key, data, site) VALUES (@key, @data, @site) ON CONFLICT (key) DO UPDATE SET data = excluded.data, site = excluded.site";

    public const string UpsertNode = "INSERT INTO nodes (site, node, status) VALUES (@site, @node, @status) ON CONFLICT (site, node) DO UPDATE SET status = excluded.status";

    public static DbParameter Bind(DbCommand cmd, string name, object? value)
    {
        DbParameter p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(p);
        return p;
    }

    /// <summary>Binds the statement of an alert's new record, or of its removal when it <paramref name="ended"/>.</summary>
    public static void BindAlert(DbCommand cmd, StoredAlert alert, bool ended)
    {
        cmd.CommandText = ended ? DeleteAlert : UpsertAlert;
        if (!ended)
        {
            Bind(cmd, "@id", alert.AlertId);
            Bind(cmd, "@record", JsonSerializer.Serialize(alert, StateJsonContext.Default.StoredAlert));
        }

        Bind(cmd, "@site", alert.Site);
        Bind(cmd, "@rule", alert.Rule);
        Bind(cmd, "@subject", alert.Subject);
    }

    private static StoredAlert ReadAlert(string record) => JsonSerializer.Deserialize(record, StateJsonContext.Default.StoredAlert)!;

    public static void BindMessage(DbCommand cmd, StoredMessage m)
    {
        cmd.CommandText = InsertMessage;
        Bind(cmd, "@identifier", m.Identifier);
        Bind(cmd, "@alert", m.AlertId);
        Bind(cmd, "@site", m.Site);
        Bind(cmd, "@rule", m.Rule);
        Bind(cmd, "@subject", m.Subject);
        Bind(cmd, "@revision", m.Revision);
        Bind(cmd, "@state", m.State);
        Bind(cmd, "@sentMs", m.Sent.ToUnixTimeMilliseconds());
        // The text keeps the offset the message was sent with; sent_ms orders.
        Bind(cmd, "@sent", m.Sent.ToString("O", CultureInfo.InvariantCulture));
        Bind(cmd, "@title", m.Title);
        Bind(cmd, "@summary", m.Summary);
        Bind(cmd, "@language", m.Language);
        Bind(cmd, "@json", m.Json);
        Bind(cmd, "@cap", m.Cap);
        Bind(cmd, "@published", false);
    }

    /// <summary>One row of <see cref="SelectMessages"/>.</summary>
    private static StoredMessage ReadMessage(DbDataReader r) => new()
    {
        Identifier = r.GetString(0),
        AlertId = r.GetString(1),
        Site = r.GetString(2),
        Rule = r.GetString(3),
        Subject = r.GetString(4),
        Revision = r.GetInt32(5),
        State = r.GetString(6),
        Sent = DateTimeOffset.Parse(r.GetString(7), CultureInfo.InvariantCulture),
        Title = r.GetString(8),
        Summary = r.IsDBNull(9) ? null : r.GetString(9),
        Language = r.IsDBNull(10) ? null : r.GetString(10),
        Json = (byte[])r[11],
        Cap = r.IsDBNull(12) ? null : (byte[])r[12],
        Published = r.GetBoolean(13),
    };

    /// <summary>Messages not acknowledged yet, of one site or all, oldest first, then by <paramref name="insertionOrder"/> (a column).</summary>
    public static List<StoredMessage> Unpublished(DbCommand cmd, string? site, string insertionOrder)
    {
        cmd.CommandText = $"{SelectMessages} WHERE published = @published{(site is null ? string.Empty : " AND site = @site")} ORDER BY sent_ms, {insertionOrder}";
        Bind(cmd, "@published", false);
        if (site is not null)
        {
            Bind(cmd, "@site", site);
        }

        return ReadMessages(cmd);
    }

    public static StoredMessage? Message(DbCommand cmd, string identifier)
    {
        cmd.CommandText = $"{SelectMessages} WHERE identifier = @identifier";
        Bind(cmd, "@identifier", identifier);
        return ReadMessages(cmd).FirstOrDefault();
    }

    public static List<StoredMessage> Feed(DbCommand cmd, DateTimeOffset since, int max)
    {
        cmd.CommandText = $"{SelectMessages} {FeedWhere}";
        Bind(cmd, "@since", since.ToUnixTimeMilliseconds());
        Bind(cmd, "@max", max);
        return ReadMessages(cmd);
    }

    private static List<StoredMessage> ReadMessages(DbCommand cmd)
    {
        var list = new List<StoredMessage>();
        using DbDataReader r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(ReadMessage(r));
        }

        return list;
    }

    /// <summary>
    /// Writes each state with <see cref="UpsertState"/> on <paramref name="cmd"/> (its transaction set); returns the
    /// keys of states that could not be serialised: those are skipped, the others written.
    /// </summary>
    public static List<string> WriteStates(DbCommand cmd, IEnumerable<IPersistentState> states, ArrayBufferWriter<byte> snapshot)
    {
        var failed = new List<string>();
        cmd.CommandText = UpsertState;
        DbParameter key = Bind(cmd, "@key", string.Empty);
        DbParameter site = Bind(cmd, "@site", string.Empty);
        DbParameter data = Bind(cmd, "@data", Array.Empty<byte>());
        foreach ((string Key, string Site, byte[] Data) row in Snapshots(states, snapshot, failed))
        {
            (key.Value, site.Value, data.Value) = row;
            cmd.ExecuteNonQuery();
        }

        return failed;
    }

    /// <summary>
    /// The snapshot of every state, by key (the last one wins); the keys of states that cannot be written go to
    /// <paramref name="failed"/> instead: one state that cannot be written (Utf8JsonWriter refuses NaN and infinity)
    /// must not cost the others.
    /// </summary>
    public static List<(string Key, string Site, byte[] Data)> Snapshots(IEnumerable<IPersistentState> states, ArrayBufferWriter<byte> snapshot, List<string> failed)
    {
        var rows = new Dictionary<string, (string Key, string Site, byte[] Data)>(StringComparer.Ordinal);
        using var writer = new Utf8JsonWriter(snapshot);
        foreach (IPersistentState s in states)
        {
            snapshot.ResetWrittenCount();
            writer.Reset(snapshot);
            try
            {
                s.WriteSnapshot(writer);
                writer.Flush();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                failed.Add(s.StateKey);
                continue;
            }

            rows[s.StateKey] = (s.StateKey, s.Site, snapshot.WrittenSpan.ToArray());
        }

        return [.. rows.Values];
    }

    public static int MarkPublishedOn(DbCommand cmd, string identifier)
    {
        cmd.CommandText = MarkPublished;
        Bind(cmd, "@published", true);
        Bind(cmd, "@identifier", identifier);
        return cmd.ExecuteNonQuery();
    }

    public static int PruneOn(DbCommand cmd, DateTimeOffset before)
    {
        cmd.CommandText = Prune;
        Bind(cmd, "@published", true);
        Bind(cmd, "@before", before.ToUnixTimeMilliseconds());
        return cmd.ExecuteNonQuery();
    }

    /// <summary>The active alerts of one site, or of all, by site, rule and subject.</summary>
    public static List<StoredAlert> ReadAlerts(DbCommand cmd, string? site)
    {
        BySite(cmd, "SELECT record FROM alerts", site, order: "ORDER BY site, rule, subject");
        var list = new List<StoredAlert>();
        using DbDataReader r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(ReadAlert(r.GetString(0)));
        }

        return list;
    }

    /// <summary>The node statuses of one site, or of all.</summary>
    public static List<byte[]> ReadNodes(DbCommand cmd, string? site)
    {
        BySite(cmd, "SELECT status FROM nodes", site);
        var list = new List<byte[]>();
        using DbDataReader r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add((byte[])r[0]);
        }

        return list;
    }

    /// <summary>The rule state of one site, or of all, by key.</summary>
    public static Dictionary<string, byte[]> ReadStates(DbCommand cmd, string? site)
    {
        BySite(cmd, "SELECT key, data FROM rule_state", site);
        var states = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using DbDataReader r = cmd.ExecuteReader();
        while (r.Read())
        {
            states[r.GetString(0)] = (byte[])r[1];
        }

        return states;
    }

    /// <summary>A query on one site, or on all when <paramref name="site"/> is null.</summary>
    private static void BySite(DbCommand cmd, string select, string? site, string order = "")
    {
        cmd.CommandText = site is null ? $"{select} {order}" : $"{select} WHERE site = @site {order}";
        if (site is not null)
        {
            Bind(cmd, "@site", site);
        }
    }
}
