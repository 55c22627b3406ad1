namespace SensorKit.Node.Configuration;

/// <summary>
/// Configuration section "Outbox": where produced messages wait for the broker's PUBACK, how much
/// disk they may take, and how hard each record is pushed to the storage medium (docs/outbox.md).
/// </summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>
    /// The outbox folder. Empty: <c>$STATE_DIRECTORY/outbox</c> under systemd (StateDirectory=),
    /// else "outbox" beside the executable. A relative path is taken from the executable's folder.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>Disk the outbox may take; above it the oldest telemetry is dropped (and counted).</summary>
    public long MaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Records older than this are dropped (and counted): nobody wants a reading from last month as backfill.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Size at which the outbox starts a new segment file; whole segments are deleted once every record in them is acknowledged.</summary>
    public long SegmentBytes { get; set; } = 1024 * 1024;

    /// <summary>When records are forced to the storage medium; decides what a power cut can cost (docs/outbox.md).</summary>
    public FsyncPolicy Fsync { get; set; } = FsyncPolicy.Interval;

    /// <summary>With <see cref="FsyncPolicy.Interval"/>: the most a power cut can cost, in time.</summary>
    public TimeSpan FsyncInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Records per second sent from the backlog after an outage, so a returning fleet does not flood the broker; live data and alerts are not limited.</summary>
    public double ReplayRate { get; set; } = 50;

    /// <summary>The folder the outbox uses, with the defaults applied.</summary>
    public string ResolveDirectory()
    {
        string? dir = Directory;
        if (string.IsNullOrWhiteSpace(dir))
        {
            string? state = Environment.GetEnvironmentVariable("STATE_DIRECTORY");
            // systemd may pass several colon-separated folders; the first is ours.
            dir = string.IsNullOrEmpty(state) ? "outbox" : Path.Combine(state.Split(':')[0], "outbox");
        }

        return Path.GetFullPath(dir, AppContext.BaseDirectory);
    }
}

/// <summary>How often the outbox forces its appends to the storage medium with fsync.</summary>
public enum FsyncPolicy
{
    /// <summary>fsync before an append returns: a power cut loses no record that counted as produced.</summary>
    EveryRecord,

    /// <summary>fsync at most every <see cref="OutboxOptions.FsyncInterval"/>: a power cut loses at most that much time of records.</summary>
    Interval,

    /// <summary>No fsync; the kernel writes back when it likes (about 30 s on Linux defaults). Cheapest for the SD card, weakest on power loss.</summary>
    OperatingSystem,
}
