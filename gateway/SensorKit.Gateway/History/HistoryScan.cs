namespace SensorKit.Gateway.History;

/// <summary>A stored column of a raw window that a <see cref="HistoryScan"/> can filter and sort on.</summary>
public enum HistoryColumn
{
    /// <summary>Window start, Unix milliseconds (end minus length).</summary>
    Start,

    /// <summary>Window end, Unix milliseconds.</summary>
    End,
    Mean,
    Min,
    Max,
    StdDev,
    Count,
}

public enum HistoryComparison
{
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

/// <summary>
/// A condition on stored columns, store-neutral: each store renders it in its own SQL, values always as parameters.
/// </summary>
public abstract record HistoryPredicate
{
    public static HistoryPredicate operator &(HistoryPredicate a, HistoryPredicate b) => new HistoryAnd(a, b);

    public static HistoryPredicate operator |(HistoryPredicate a, HistoryPredicate b) => new HistoryOr(a, b);
}

public sealed record HistoryCompare(HistoryColumn Column, HistoryComparison Op, double Value) : HistoryPredicate;

public sealed record HistoryAnd(HistoryPredicate Left, HistoryPredicate Right) : HistoryPredicate;

public sealed record HistoryOr(HistoryPredicate Left, HistoryPredicate Right) : HistoryPredicate;

public sealed record HistoryNot(HistoryPredicate Operand) : HistoryPredicate;

/// <summary>
/// Raw windows of some channels, filtered on stored columns and sorted, read lazily (a reader that stops early
/// costs no more than the rows read). Without <see cref="OrderBy"/> rows come by channel id, then window end.
/// </summary>
public sealed record HistoryScan
{
    public required IReadOnlyList<HistoryChannel> Channels { get; init; }

    public HistoryPredicate? Where { get; init; }

    public IReadOnlyList<(HistoryColumn Column, bool Descending)> OrderBy { get; init; } = [];

    public long Offset { get; init; }

    /// <summary>Null: all rows.</summary>
    public long? Limit { get; init; }
}
