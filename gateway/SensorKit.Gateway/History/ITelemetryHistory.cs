using System.Globalization;
using SensorKit.Protocol;

namespace SensorKit.Gateway.History;

/// <summary>
/// Storage of telemetry windows and their hourly rollups, in SQLite (<see cref="SqliteTelemetryHistory"/>) or PostgreSQL
/// (<see cref="PostgresTelemetryHistory"/>); the contract is what any other database must do to take their place: one writer calls
/// <see cref="Append"/> and <see cref="ApplyRetention"/>, any thread may call <see cref="Query"/> and <see cref="Channels"/>.
/// </summary>
public interface ITelemetryHistory : IDisposable
{
    /// <summary>Creates the store and its schema if needed. Idempotent.</summary>
    void Open();

    /// <summary>
    /// Stores windows in one transaction and merges each new one into its hour's rollup. A window already stored
    /// (same channel and end, or same node and seq) is skipped, as is one that starts before the raw cut of the last
    /// <see cref="ApplyRetention"/>: its hour's windows are deleted, so a copy could not be recognised.
    /// </summary>
    HistoryAppendResult Append(ReadOnlySpan<TelemetryMessage> windows);

    /// <summary>Deletes raw windows and rollups past their retention at <paramref name="now"/>.</summary>
    HistoryRetentionResult ApplyRetention(DateTimeOffset now);

    /// <summary>One page of rows; pass <see cref="HistoryPage.Next"/> as <see cref="HistoryQuery.After"/> for the next.</summary>
    HistoryPage Query(HistoryQuery query);

    /// <summary>The channels stored, filtered as a query filters them (null matches everything).</summary>
    IReadOnlyList<HistoryChannel> Channels(string? site = null, string? node = null, string? sensor = null, string? quantity = null);

    /// <summary>Raw windows matching a scan, streamed from the store as the caller reads (open data queries).</summary>
    IEnumerable<HistoryRow> Scan(HistoryScan scan, CancellationToken ct = default);

    /// <summary>How many raw windows match a scan (its offset and limit ignored).</summary>
    long Count(HistoryScan scan);
}

/// <summary>What <see cref="ITelemetryHistory.Append"/> did with a batch.</summary>
public readonly record struct HistoryAppendResult(int Stored, int Duplicates, int TooOld);

/// <summary>What <see cref="ITelemetryHistory.ApplyRetention"/> deleted, and the cut-offs it used.</summary>
public readonly record struct HistoryRetentionResult(long RawDeleted, long RollupsDeleted, DateTimeOffset RawBefore, DateTimeOffset RollupsBefore);

/// <summary>One channel (site, node, sensor, quantity) and its unit; <see cref="Id"/> is stable within a store.</summary>
public sealed record HistoryChannel(long Id, string Site, string Node, string Sensor, string Quantity, string Unit);

public enum HistoryResolution
{
    /// <summary>Raw windows where they are kept, hourly rollups before (the raw retention).</summary>
    Auto,

    /// <summary>Hourly rollups throughout, for long ranges.</summary>
    Hourly,
}

/// <summary>
/// Channels by site, node, sensor and quantity (null: any) over [<see cref="From"/>, <see cref="To"/>). A window is in the
/// range when it lies inside it (start ≥ From, end ≤ To); an hourly rollup when its hour starts in it, the hour that
/// holds From included. Rows come channel by channel (by <see cref="HistoryChannel.Id"/>), each in time order.
/// </summary>
public sealed record HistoryQuery
{
    public const int MaxLimit = 10_000;

    public string? Site { get; init; }

    public string? Node { get; init; }

    public string? Sensor { get; init; }

    public string? Quantity { get; init; }

    public required DateTimeOffset From { get; init; }

    public required DateTimeOffset To { get; init; }

    public HistoryResolution Resolution { get; init; } = HistoryResolution.Auto;

    /// <summary>Rows per page, 1 to <see cref="MaxLimit"/>.</summary>
    public int Limit { get; init; } = 1000;

    /// <summary>Where the previous page ended (keyset paging: rows stored meanwhile do not shift pages).</summary>
    public HistoryCursor? After { get; init; }
}

/// <summary>A position in a query's order: a channel and the end of the last row returned for it.</summary>
public readonly record struct HistoryCursor(long Channel, long EndMs)
{
    /// <summary>A compact text form for links, e.g. "17:1782907260000".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Channel}:{EndMs}");

    public static bool TryParse(string? s, out HistoryCursor cursor)
    {
        cursor = default;
        int colon = s?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon <= 0
            || !long.TryParse(s.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out long channel)
            || !long.TryParse(s.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long end))
        {
            return false;
        }

        cursor = new HistoryCursor(channel, end);
        return true;
    }
}

public sealed record HistoryPage(IReadOnlyList<HistoryRow> Rows, HistoryCursor? Next);

public enum HistoryRowKind
{
    /// <summary>A window as the node sent it.</summary>
    Window,

    /// <summary>An hour of windows merged (by window start).</summary>
    Hour,
}

/// <summary>
/// A window, or an hour of them. For an hour, <see cref="Count"/> and the statistics cover all samples of its windows
/// (count-weighted mean, pooled population standard deviation), <see cref="Flags"/> is the union of theirs, and
/// <see cref="Sequence"/>, <see cref="First"/> and <see cref="Last"/> are absent.
/// </summary>
public readonly record struct HistoryRow
{
    public required HistoryChannel Channel { get; init; }

    public required HistoryRowKind Kind { get; init; }

    public required DateTimeOffset Start { get; init; }

    public required DateTimeOffset End { get; init; }

    /// <summary>Windows merged: 1 for a window.</summary>
    public required int Windows { get; init; }

    public required long Count { get; init; }

    public required double Min { get; init; }

    public required double Max { get; init; }

    public required double Mean { get; init; }

    public required double StdDev { get; init; }

    public double? First { get; init; }

    public double? Last { get; init; }

    public long? Sequence { get; init; }

    public QualityFlags Flags { get; init; }

    /// <summary>For a window: it came from the node's outbox after an outage.</summary>
    public bool Backfill { get; init; }
}
