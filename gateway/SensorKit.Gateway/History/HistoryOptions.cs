using Microsoft.Extensions.Options;

namespace SensorKit.Gateway.History;

/// <summary>Configuration section "History": the telemetry history beside the alert state (docs/history.md).</summary>
public sealed class HistoryOptions
{
    public const string Section = "History";

    /// <summary>False: no history is kept, and ingest pays nothing for it.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long every window is kept as received; older hours are kept only as hourly rollups.</summary>
    public TimeSpan RawRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long the hourly rollups are kept.</summary>
    public TimeSpan RollupRetention { get; set; } = TimeSpan.FromDays(5 * 365 + 1);

    /// <summary>The most windows written to the database in one transaction.</summary>
    public int BatchSize { get; set; } = 10_000;

    /// <summary>How often the journal is written to the database (and fsynced) when fewer than a batch wait.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Disk the journal of windows not yet in the database may take. Beyond it (the database has been failing for
    /// hours) windows are not kept for the history, counted and logged; the rules still take them.
    /// </summary>
    public long MaxJournalBytes { get; set; } = 256L * 1024 * 1024;
}

public sealed class HistoryOptionsValidator : IValidateOptions<HistoryOptions>
{
    public ValidateOptionsResult Validate(string? name, HistoryOptions o)
    {
        const string s = HistoryOptions.Section;
        var errors = new List<string>();
        if (o.RawRetention < TimeSpan.FromHours(1))
        {
            errors.Add($"{s}:RawRetention: {o.RawRetention} must be at least an hour (rollups are hourly)");
        }

        if (o.RollupRetention < o.RawRetention)
        {
            errors.Add($"{s}:RollupRetention: {o.RollupRetention} must be at least RawRetention ({o.RawRetention})");
        }

        if (o.BatchSize is < 1 or > 100_000)
        {
            errors.Add($"{s}:BatchSize: {o.BatchSize} must be between 1 and 100000");
        }

        if (o.FlushInterval < TimeSpan.FromMilliseconds(10) || o.FlushInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{s}:FlushInterval: {o.FlushInterval} must be between 10 ms and 1 minute");
        }

        if (o.MaxJournalBytes < 1024 * 1024)
        {
            errors.Add($"{s}:MaxJournalBytes: {o.MaxJournalBytes} must be at least 1048576 (1 MiB)");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
