using SensorKit.Gateway.History;
using SensorKit.Gateway.Outputs.OpenData.Filter;

namespace SensorKit.Gateway.Outputs.OpenData.SensorThings;

/// <summary>
/// Runs a query on Observations against the history: conditions on the Datastream pick channels in memory,
/// conditions on stored columns become a <see cref="HistoryPredicate"/> (parameterised SQL in the store), and whatever
/// is left (functions, arithmetic) is evaluated in memory on each row the store returns, within a budget of rows.
/// </summary>
internal static class ObservationQuery
{
    public static (List<StaEntity> Page, bool More, long? Count) Run(ITelemetryHistory history, StaCatalog catalog, IReadOnlyList<HistoryChannel> channels, StaQuery q, int top, int skip, OpenDataOptions o, DateTimeOffset now, CancellationToken ct)
    {
        var channelLevel = new List<FilterNode>();
        var rowLevel = new List<FilterNode>();
        foreach (FilterNode c in q.Filter is null ? [] : Conjuncts(q.Filter))
        {
            (OnlyDatastream(c) ? channelLevel : rowLevel).Add(c);
        }

        if (channelLevel.Count > 0)
        {
            channels = [.. channels.Where(ch =>
            {
                var probe = new StaEntity { Kind = StaKind.Observation, Id = string.Empty, Values = [], Site = ch.Site, Node = ch.Node, Channel = ch };
                return channelLevel.All(f => FilterEvaluator.Matches(f, p => catalog.Resolve(probe, p), now));
            })];
        }

        HistoryPredicate? where = null;
        bool exact = true;
        foreach (FilterNode c in rowLevel)
        {
            (HistoryPredicate? p, bool e) = Translate(c);
            exact &= e;
            where = where is null ? p : p is null ? where : where & p;
        }

        var order = new List<(HistoryColumn, bool)>();
        foreach ((FilterNode e, bool desc) in q.OrderBy)
        {
            HistoryColumn column = e is FilterPath p && Column(p.ToString()) is { } c
                ? (c == TimeColumn.Interval ? HistoryColumn.Start : (HistoryColumn)c)
                : throw new StaRequestException(400, "$orderby: Observations are ordered by phenomenonTime, resultTime, result or parameters/min, max, stdDev, count");
            order.Add((column, desc));
            if (c is TimeColumn.Interval)
            {
                order.Add((HistoryColumn.End, desc));
            }
        }

        var scan = new HistoryScan { Channels = channels, Where = where, OrderBy = order };
        var page = new List<StaEntity>(Math.Min(top + 1, 1024));
        if (exact)
        {
            foreach (HistoryRow row in history.Scan(scan with { Offset = skip, Limit = top + 1 }, ct))
            {
                page.Add(StaCatalog.Observation(row));
            }

            long? count = q.Count ? history.Count(scan) : null;
            bool more = page.Count > top;
            return (page.Count > top ? page[..top] : page, more, count);
        }

        // Parts of the filter the store cannot do: read its candidates and test each, counting what is read.
        long scanned = 0, matched = 0;
        bool hasMore = false;
        foreach (HistoryRow row in history.Scan(scan, ct))
        {
            if (++scanned > o.MaxScannedObservations)
            {
                throw new StaRequestException(400, $"$filter: needs more than {o.MaxScannedObservations} observations read; narrow it by phenomenonTime, result or Datastream");
            }

            StaEntity e = StaCatalog.Observation(row);
            if (!rowLevel.All(f => FilterEvaluator.Matches(f, p => catalog.Resolve(e, p), now)))
            {
                continue;
            }

            matched++;
            if (matched <= skip)
            {
                continue;
            }

            if (page.Count < top)
            {
                page.Add(e);
            }
            else
            {
                hasMore = true;
                if (!q.Count)
                {
                    break;
                }
            }
        }

        return (page, hasMore, q.Count ? matched : null);
    }

    private static IEnumerable<FilterNode> Conjuncts(FilterNode f) =>
        f is FilterBinary { Op: FilterOperator.And } b ? Conjuncts(b.Left).Concat(Conjuncts(b.Right)) : [f];

    private static bool OnlyDatastream(FilterNode f) => Paths(f).ToList() is { Count: > 0 } paths && paths.All(p => p.Segments[0] == "Datastream");

    private static IEnumerable<FilterPath> Paths(FilterNode f) => f switch
    {
        FilterPath p => [p],
        FilterBinary b => Paths(b.Left).Concat(Paths(b.Right)),
        FilterNot n => Paths(n.Operand),
        FilterNegate n => Paths(n.Operand),
        FilterCall c => c.Arguments.SelectMany(Paths),
        _ => [],
    };

    private enum TimeColumn
    {
        // Values of HistoryColumn, and the interval.
        Start = HistoryColumn.Start,
        End = HistoryColumn.End,
        Mean = HistoryColumn.Mean,
        Min = HistoryColumn.Min,
        Max = HistoryColumn.Max,
        StdDev = HistoryColumn.StdDev,
        Count = HistoryColumn.Count,
        Interval = 100,
    }

    private static TimeColumn? Column(string path) => path switch
    {
        "phenomenonTime" => TimeColumn.Interval,
        "resultTime" => TimeColumn.End,
        "result" => TimeColumn.Mean,
        "parameters/min" => TimeColumn.Min,
        "parameters/max" => TimeColumn.Max,
        "parameters/stdDev" => TimeColumn.StdDev,
        "parameters/count" => TimeColumn.Count,
        _ => null,
    };

    /// <summary>The predicate and whether it says exactly what the filter says (else it only narrows the candidates).</summary>
    private static (HistoryPredicate? Predicate, bool Exact) Translate(FilterNode f)
    {
        switch (f)
        {
            case FilterBinary { Op: FilterOperator.And } b:
            {
                (HistoryPredicate? l, bool le) = Translate(b.Left);
                (HistoryPredicate? r, bool re) = Translate(b.Right);
                return (l is null ? r : r is null ? l : l & r, le && re);
            }

            case FilterBinary { Op: FilterOperator.Or } b:
            {
                (HistoryPredicate? l, bool le) = Translate(b.Left);
                (HistoryPredicate? r, bool re) = Translate(b.Right);
                return le && re ? (l! | r!, true) : (null, false);
            }

            case FilterNot n:
                return Translate(n.Operand) is ({ } p, true) ? (new HistoryNot(p), true) : (null, false);
            case FilterBinary { Op: FilterOperator.Eq or FilterOperator.Ne or FilterOperator.Gt or FilterOperator.Ge or FilterOperator.Lt or FilterOperator.Le } b:
                return Compare(b) is { } c ? (c, true) : (null, false);
            default:
                return (null, false);
        }
    }

    private static HistoryPredicate? Compare(FilterBinary b)
    {
        (FilterPath? path, FilterLiteral? literal, FilterOperator op) = (b.Left, b.Right) switch
        {
            (FilterPath p, FilterLiteral l) => (p, l, b.Op),
            (FilterLiteral l, FilterPath p) => (p, l, Flip(b.Op)),
            _ => (null, null, b.Op),
        };
        if (path is null || Column(path.ToString()) is not { } column)
        {
            return null;
        }

        bool time = column is TimeColumn.Interval or TimeColumn.End;
        double value;
        if (time && literal!.Value is DateTimeOffset t)
        {
            value = t.ToUnixTimeMilliseconds();
        }
        else if (!time && literal!.Value is double d)
        {
            value = d;
        }
        else
        {
            // Types that do not compare: the evaluator says false for every row.
            return null;
        }

        HistoryComparison cmp = op switch
        {
            FilterOperator.Eq => HistoryComparison.Equal,
            FilterOperator.Ne => HistoryComparison.NotEqual,
            FilterOperator.Gt => HistoryComparison.Greater,
            FilterOperator.Ge => HistoryComparison.GreaterOrEqual,
            FilterOperator.Lt => HistoryComparison.Less,
            _ => HistoryComparison.LessOrEqual,
        };
        if (column != TimeColumn.Interval)
        {
            return new HistoryCompare((HistoryColumn)column, cmp, value);
        }

        // An interval is after an instant when it starts after it, before it when it ends before it, equal when both are.
        return cmp switch
        {
            HistoryComparison.Greater or HistoryComparison.GreaterOrEqual => new HistoryCompare(HistoryColumn.Start, cmp, value),
            HistoryComparison.Less or HistoryComparison.LessOrEqual => new HistoryCompare(HistoryColumn.End, cmp, value),
            HistoryComparison.Equal => new HistoryCompare(HistoryColumn.Start, cmp, value) & new HistoryCompare(HistoryColumn.End, cmp, value),
            _ => new HistoryNot(new HistoryCompare(HistoryColumn.Start, HistoryComparison.Equal, value) & new HistoryCompare(HistoryColumn.End, HistoryComparison.Equal, value)),
        };
    }

    private static FilterOperator Flip(FilterOperator op) => op switch
    {
        FilterOperator.Gt => FilterOperator.Lt,
        FilterOperator.Ge => FilterOperator.Le,
        FilterOperator.Lt => FilterOperator.Gt,
        FilterOperator.Le => FilterOperator.Ge,
        _ => op,
    };
}
