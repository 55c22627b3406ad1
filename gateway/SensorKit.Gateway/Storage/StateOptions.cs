using Microsoft.Extensions.Options;

namespace SensorKit.Gateway.Storage;

/// <summary>Configuration section "State": where the gateway keeps active alerts and rule state across restarts.</summary>
public sealed class StateOptions
{
    public const string Section = "State";

    /// <summary>
    /// Folder of the SQLite database (gateway-state.db). Relative paths start at the content root; systemd's
    /// StateDirectory= (the STATE_DIRECTORY variable) is used when this is not set.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>Where the state is kept: an SQLite file (one gateway) or PostgreSQL (a gateway group).</summary>
    public StateProvider Provider { get; set; } = StateProvider.Sqlite;

    /// <summary>PostgreSQL only: the Npgsql connection string, without the password.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>PostgreSQL only: a file holding the database password.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>How often rule history (rate-of-change windows, baselines) is written between alert steps.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the messages of ended alerts are kept for the CAP feed and its links.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The state folder as a full path: <see cref="Directory"/>, else STATE_DIRECTORY, else "state", from <paramref name="contentRoot"/>.</summary>
    public string ResolveDirectory(string contentRoot) => Path.GetFullPath(
        Directory ?? Environment.GetEnvironmentVariable("STATE_DIRECTORY")?.Split(':')[0] ?? "state",
        contentRoot);
}

public enum StateProvider
{
    Sqlite,
    PostgreSql,
}

public sealed class StateOptionsValidator : IValidateOptions<StateOptions>
{
    public ValidateOptionsResult Validate(string? name, StateOptions o)
    {
        const string s = StateOptions.Section;
        var errors = new List<string>();
        if (o.Directory is { } dir && (dir.Length == 0 || dir.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            errors.Add($"{s}:Directory: '{dir}' is not a folder path");
        }

        if (o.FlushInterval <= TimeSpan.Zero)
        {
            errors.Add($"{s}:FlushInterval: {o.FlushInterval} must be positive");
        }

        if (o.Retention <= TimeSpan.Zero)
        {
            errors.Add($"{s}:Retention: {o.Retention} must be positive");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
