using System.Data.Common;
using System.Globalization;
using System.Text;
using SensorKit.Protocol;

namespace SensorKit.Gateway.History;

/// <summary>
/// The reading side both histories share: SQLite and PostgreSQL hold the same tables (windows, rollups) and accept the
/// same statements with named @parameters, so a query page, a scan and a count are built and read here once.
/// </summary>
internal static class HistorySql
{
    public const long HourMs = 3_600_000;

    /// <summary>The columns <see cref="ReadWindow"/> reads, in its order.</summary>
    public const string WindowColumns = "end_ms, length_ms, seq, count, min, max, mean, stddev, first, last, flags, backfill";

    public static long FloorHour(long ms) => Math.DivRem(ms, HourMs, out long rem) * HourMs - (rem < 0 ? HourMs : 0);

    public static bool Matches(HistoryChannel c, string? site, string? node, string? sensor, string? quantity) =>
        (site is null || c.Site == site) && (node is null || c.Node == node) && (sensor is null || c.Sensor == sensor) && (quantity is null || c.Quantity == quantity);

    public static DbParameter Bind(DbCommand cmd, string name, object value)
    {
        DbParameter p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        cmd.Parameters.Add(p);
        return p;
    }

    /// <summary>A raw window from <paramref name="r"/>, whose columns from <paramref name="at"/> on are <see cref="WindowColumns"/>.</summary>
    public static HistoryRow ReadWindow(DbDataReader r, int at, HistoryChannel channel)
    {
        long end = r.GetInt64(at);
        return new HistoryRow
        {
            Channel = channel,
            Kind = HistoryRowKind.Window,
            Start = DateTimeOffset.FromUnixTimeMilliseconds(end - r.GetInt64(at + 1)),
            End = DateTimeOffset.FromUnixTimeMilliseconds(end),
            Windows = 1,
            Sequence = r.GetInt64(at + 2),
            Count = r.GetInt64(at + 3),
            Min = r.GetDouble(at + 4),
            Max = r.GetDouble(at + 5),
            Mean = r.GetDouble(at + 6),
            StdDev = r.GetDouble(at + 7),
            First = r.GetDouble(at + 8),
            Last = r.GetDouble(at + 9),
            Flags = (QualityFlags)r.GetInt32(at + 10),
            Backfill = r.GetInt32(at + 11) != 0,
        };
    }

    /// <summary>The range and limit of a query, checked as every store checks them.</summary>
    public static void Check(HistoryQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.To <= query.From)
        {
            throw new ArgumentException($"the range {query.From:O} to {query.To:O} is empty", nameof(query));
        }

        if (query.Limit is < 1 or > HistoryQuery.MaxLimit)
        {
            throw new ArgumentException($"limit {query.Limit} is not between 1 and {HistoryQuery.MaxLimit}", nameof(query));
        }
    }

    /// <summary>
    /// One page of <paramref name="query"/> (checked by <see cref="Check"/>) over <paramref name="channels"/> in id order:
    /// hourly rollups before <paramref name="rawFromMs"/> (the start of the oldest hour kept raw), raw windows from it on.
    /// </summary>
    public static HistoryPage Page(DbConnection db, HistoryQuery query, IEnumerable<HistoryChannel> channels, long rawFromMs)
    {
        long from = query.From.ToUnixTimeMilliseconds();
        long to = query.To.ToUnixTimeMilliseconds();
        long hoursTo = query.Resolution == HistoryResolution.Hourly ? to : Math.Min(to, rawFromMs);
        long hoursFrom = FloorHour(from);
        long windowsFrom = Math.Max(from, rawFromMs);
        var rows = new List<HistoryRow>(Math.Min(query.Limit, 2048));
        HistoryCursor? after = query.After;

        using DbCommand hours = db.CreateCommand();
        hours.CommandText = """
            SELECT hour_ms, windows, count, min, max, mean, m2, flags FROM rollups
            WHERE channel = @c AND hour_ms >= @from AND hour_ms < @to ORDER BY hour_ms LIMIT @n
            """;
        DbParameter hc = Bind(hours, "@c", 0L);
        DbParameter hf = Bind(hours, "@from", 0L);
        Bind(hours, "@to", hoursTo);
        DbParameter hn = Bind(hours, "@n", 0L);
        using DbCommand raw = db.CreateCommand();
        raw.CommandText = $"""
            SELECT {WindowColumns} FROM windows
            WHERE channel = @c AND end_ms > @after AND end_ms <= @to AND end_ms - length_ms >= @from ORDER BY end_ms LIMIT @n
            """;
        DbParameter rc = Bind(raw, "@c", 0L);
        DbParameter ra = Bind(raw, "@after", 0L);
        Bind(raw, "@to", to);
        Bind(raw, "@from", windowsFrom);
        DbParameter rn = Bind(raw, "@n", 0L);

        foreach (HistoryChannel channel in channels)
        {
            if ((after is { } a && channel.Id < a.Channel) || !Matches(channel, query.Site, query.Node, query.Sensor, query.Quantity))
            {
                continue;
            }

            long afterEnd = after is { } c && c.Channel == channel.Id ? c.EndMs : long.MinValue;
            if (hoursFrom < hoursTo)
            {
                hc.Value = channel.Id;
                // Keyset: an hour's row ends an hour after it starts.
                hf.Value = afterEnd == long.MinValue ? hoursFrom : Math.Max(hoursFrom, afterEnd - HourMs + 1);
                hn.Value = (long)(query.Limit - rows.Count);
                using DbDataReader r = hours.ExecuteReader();
                while (r.Read())
                {
                    long hour = r.GetInt64(0);
                    long count = r.GetInt64(2);
                    rows.Add(new HistoryRow
                    {
                        Channel = channel,
                        Kind = HistoryRowKind.Hour,
                        Start = DateTimeOffset.FromUnixTimeMilliseconds(hour),
                        End = DateTimeOffset.FromUnixTimeMilliseconds(hour + HourMs),
                        Windows = r.GetInt32(1),
                        Count = count,
                        Min = r.GetDouble(3),
                        Max = r.GetDouble(4),
                        Mean = r.GetDouble(5),
                        StdDev = Math.Sqrt(Math.Max(0, r.GetDouble(6) / count)),
                        Flags = (QualityFlags)r.GetInt32(7),
                    });
                }
            }

            if (query.Resolution == HistoryResolution.Auto && rows.Count < query.Limit && windowsFrom < to)
            {
                rc.Value = channel.Id;
                ra.Value = Math.Max(afterEnd, windowsFrom);
                rn.Value = (long)(query.Limit - rows.Count);
                using DbDataReader r = raw.ExecuteReader();
                while (r.Read())
                {
                    rows.Add(ReadWindow(r, 0, channel));
                }
            }

            if (rows.Count == query.Limit)
            {
                return new HistoryPage(rows, new HistoryCursor(channel.Id, rows[^1].End.ToUnixTimeMilliseconds()));
            }
        }

        return new HistoryPage(rows, null);
    }

    /// <summary>
    /// The statement of a scan (or, with <paramref name="count"/>, of its count) on <paramref name="cmd"/>:
    /// <paramref name="channelCondition"/> is the store's SQL for "channel is one of the scan's", its parameters bound.
    /// </summary>
    public static void Scan(DbCommand cmd, HistoryScan scan, string channelCondition, bool count)
    {
        var sql = new StringBuilder(count ? "SELECT count(*) FROM windows WHERE " : $"SELECT channel, {WindowColumns} FROM windows WHERE ");
        sql.Append(channelCondition);
        if (scan.Where is { } where)
        {
            sql.Append(" AND ");
            Render(where, cmd, sql);
        }

        if (!count)
        {
            sql.Append(" ORDER BY ");
            foreach ((HistoryColumn column, bool descending) in scan.OrderBy)
            {
                sql.Append(ColumnSql(column)).Append(descending ? " DESC, " : ", ");
            }

            sql.Append("channel, end_ms");
            if (scan.Limit is not null || scan.Offset > 0)
            {
                // No limit as the largest one: both databases take it, neither takes the other's "none".
                sql.Append(" LIMIT @limit OFFSET @offset");
                Bind(cmd, "@limit", scan.Limit ?? long.MaxValue);
                Bind(cmd, "@offset", scan.Offset);
            }
        }

        cmd.CommandText = sql.ToString();
    }

    /// <summary>The rows of a scan statement built by <see cref="Scan"/>, read as the caller reads.</summary>
    public static IEnumerable<HistoryRow> Read(DbDataReader r, Dictionary<long, HistoryChannel> channels, CancellationToken ct)
    {
        while (r.Read())
        {
            ct.ThrowIfCancellationRequested();
            yield return ReadWindow(r, 1, channels[r.GetInt64(0)]);
        }
    }

    private static void RenderBinary(HistoryPredicate left, string op, HistoryPredicate right, DbCommand cmd, StringBuilder sql)
    {
        sql.Append('(');
        Render(left, cmd, sql);
        sql.Append(op);
        Render(right, cmd, sql);
        sql.Append(')');
    }

    /// <summary>A predicate as SQL; every value goes in as a parameter, never as text.</summary>
    private static void Render(HistoryPredicate p, DbCommand cmd, StringBuilder sql)
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
                string name = "@p" + cmd.Parameters.Count.ToString(CultureInfo.InvariantCulture);
                bool integral = c.Column is HistoryColumn.Start or HistoryColumn.End or HistoryColumn.Count;
                if (integral && c.Value == Math.Floor(c.Value) && Math.Abs(c.Value) < 9e15)
                {
                    Bind(cmd, name, (long)c.Value);
                }
                else
                {
                    Bind(cmd, name, c.Value);
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
