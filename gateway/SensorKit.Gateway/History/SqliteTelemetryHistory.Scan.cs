using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SensorKit.Protocol;

namespace SensorKit.Gateway.History;

public sealed partial class SqliteTelemetryHistory
{
    public IEnumerable<HistoryRow> Scan(HistoryScan scan, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Channels.Count == 0 || scan.Limit is <= 0)
        {
            yield break;
        }

        Dictionary<long, HistoryChannel> channels = scan.Channels.DistinctBy(c => c.Id).ToDictionary(c => c.Id);
        using var db = new SqliteConnection(_readConnection);
        db.Open();
        using SqliteCommand cmd = db.CreateCommand();
        var sql = new StringBuilder("SELECT channel, end_ms, length_ms, seq, count, min, max, mean, stddev, first, last, flags, backfill FROM windows WHERE ");
        Where(cmd, sql, scan, channels);
        sql.Append(" ORDER BY ");
        foreach ((HistoryColumn column, bool descending) in scan.OrderBy)
        {
            sql.Append(ColumnSql(column)).Append(descending ? " DESC, " : ", ");
        }

        sql.Append("channel, end_ms");
        if (scan.Limit is not null || scan.Offset > 0)
        {
            sql.Append(" LIMIT $limit OFFSET $offset");
            cmd.Parameters.AddWithValue("$limit", scan.Limit ?? -1);
            cmd.Parameters.AddWithValue("$offset", scan.Offset);
        }

        cmd.CommandText = sql.ToString();
        using SqliteDataReader r = cmd.ExecuteReader();
        while (r.Read())
        {
            ct.ThrowIfCancellationRequested();
            yield return ReadWindow(r, 1, channels[r.GetInt64(0)]);
        }
    }

    public long Count(HistoryScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Channels.Count == 0)
        {
            return 0;
        }

        using var db = new SqliteConnection(_readConnection);
        db.Open();
        using SqliteCommand cmd = db.CreateCommand();
        var sql = new StringBuilder("SELECT count(*) FROM windows WHERE ");
        Where(cmd, sql, scan, scan.Channels.DistinctBy(c => c.Id).ToDictionary(c => c.Id));
        cmd.CommandText = sql.ToString();
        return (long)cmd.ExecuteScalar()!;
    }

    private static void Where(SqliteCommand cmd, StringBuilder sql, HistoryScan scan, Dictionary<long, HistoryChannel> channels)
    {
        if (channels.Count == 1)
        {
            sql.Append("channel = $channel");
            cmd.Parameters.AddWithValue("$channel", channels.Keys.First());
        }
        else
        {
            // One parameter however many channels: SQLite caps the number of parameters.
            sql.Append("channel IN (SELECT value FROM json_each($channels))");
            cmd.Parameters.AddWithValue("$channels", JsonSerializer.Serialize(channels.Keys.Order().ToArray()));
        }

        if (scan.Where is { } where)
        {
            sql.Append(" AND ");
            Render(where, cmd, sql);
        }
    }

    private static void RenderBinary(HistoryPredicate left, string op, HistoryPredicate right, SqliteCommand cmd, StringBuilder sql)
    {
        sql.Append('(');
        Render(left, cmd, sql);
        sql.Append(op);
        Render(right, cmd, sql);
        sql.Append(')');
    }

    /// <summary>A predicate as SQL; every value goes in as a parameter, never as text.</summary>
    private static void Render(HistoryPredicate p, SqliteCommand cmd, StringBuilder sql)
    {
        switch (p)
        {
            case HistoryAnd a:
                RenderBinary(a.Left, " AND ", a.Right, cmd, sql);
                break;
            case HistoryOr o:
                RenderBinary(o.Left, " OR ", o.Right, cmd, sql);
                break;
            case HistoryNot n:
                sql.Append("(NOT ");
                Render(n.Operand, cmd, sql);
                sql.Append(')');
                break;
            case HistoryCompare c:
                string name = "$p" + cmd.Parameters.Count.ToString(CultureInfo.InvariantCulture);
                bool integral = c.Column is HistoryColumn.Start or HistoryColumn.End or HistoryColumn.Count;
                if (integral && c.Value == Math.Floor(c.Value) && Math.Abs(c.Value) < 9e15)
                {
                    cmd.Parameters.AddWithValue(name, (long)c.Value);
                }
                else
                {
                    cmd.Parameters.AddWithValue(name, c.Value);
                }

                string op = c.Op switch
                {
                    HistoryComparison.Equal => "=",
                    HistoryComparison.NotEqual => "<>",
                    HistoryComparison.Greater => ">",
                    HistoryComparison.GreaterOrEqual => ">=",
                    HistoryComparison.Less => "<",
                    _ => "<=",
                };
                sql.Append('(').Append(ColumnSql(c.Column)).Append(' ').Append(op).Append(' ').Append(name);
                // A window ends after it starts, so a lower bound on the start bounds the end too, which the
                // primary key (channel, end_ms) can seek on.
                if (c.Column == HistoryColumn.Start && c.Op is HistoryComparison.Greater or HistoryComparison.GreaterOrEqual or HistoryComparison.Equal)
                {
                    sql.Append(" AND end_ms > ").Append(name);
                }

                sql.Append(')');
                break;
            default:
                throw new ArgumentException($"unknown predicate {p.GetType().Name}", nameof(p));
        }
    }

    private static string ColumnSql(HistoryColumn c) => c switch
    {
        HistoryColumn.Start => "(end_ms - length_ms)",
        HistoryColumn.End => "end_ms",
        HistoryColumn.Mean => "mean",
        HistoryColumn.Min => "min",
        HistoryColumn.Max => "max",
        HistoryColumn.StdDev => "stddev",
        HistoryColumn.Count => "count",
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };
}
