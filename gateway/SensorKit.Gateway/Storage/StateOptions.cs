using Microsoft.Extensions.Options;
using Npgsql;

namespace SensorKit.Gateway.Storage;

/// <summary>Where the gateway keeps alerts, rule state, nodes and the telemetry history.</summary>
public enum StateProvider
{
    /// <summary>SQLite files in <see cref="StateOptions.Directory"/>: one gateway on its own.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (<see cref="StateOptions.ConnectionString"/>), which a gateway group shares.</summary>
    PostgreSql,
}

/// <summary>Configuration section "State": where the gateway keeps active alerts and rule state across restarts.</summary>
public sealed class StateOptions
{
    public const string Section = "State";

    public StateProvider Provider { get; set; } = StateProvider.Sqlite;

    /// <summary>PostgreSql: the database in Npgsql's syntax (Host=...;Database=...;Username=...); its password better in <see cref="PasswordFile"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>PostgreSql: a file holding the database password, so the configuration carries none.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>
    /// Folder of the SQLite databases (gateway-state.db, history.db) and of the files every gateway keeps (the CAP
    /// signing key, the history journal, the open-data archive), whichever the provider. Relative paths start at the content root; systemd's
    /// StateDirectory= (the STATE_DIRECTORY variable) is used when this is not set.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>How often rule history (rate-of-change windows, baselines) is written between alert steps.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the messages of ended alerts are kept for the CAP feed and its links.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The state folder as a full path: <see cref="Directory"/>, else STATE_DIRECTORY, else "state", from <paramref name="contentRoot"/>.</summary>
    public string ResolveDirectory(string contentRoot) => Path.GetFullPath(
        Directory ?? Environment.GetEnvironmentVariable("STATE_DIRECTORY")?.Split(':')[0] ?? "state",
        contentRoot);
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

        if (o.Provider == StateProvider.PostgreSql)
        {
            ValidatePostgres(o, errors);
        }
        else
        {
            if (o.ConnectionString is not null)
            {
                errors.Add($"{s}:ConnectionString: only with {s}:Provider PostgreSql");
            }

            if (o.PasswordFile is not null)
            {
                errors.Add($"{s}:PasswordFile: only with {s}:Provider PostgreSql");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The connection string parsed as Npgsql will; an error never repeats the string, which may hold a password.</summary>
    private static void ValidatePostgres(StateOptions o, List<string> errors)
    {
        const string s = StateOptions.Section;
        if (string.IsNullOrWhiteSpace(o.ConnectionString))
        {
            errors.Add($"{s}:ConnectionString: required with {s}:Provider PostgreSql, e.g. Host=127.0.0.1;Database=sensorkit;Username=sensorkit");
            return;
        }

        NpgsqlConnectionStringBuilder cs;
        try
        {
            cs = new NpgsqlConnectionStringBuilder(o.ConnectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            errors.Add($"{s}:ConnectionString: not an Npgsql connection string ({Unsupported(e)})");
            return;
        }

        if (string.IsNullOrWhiteSpace(cs.Host))
        {
            errors.Add($"{s}:ConnectionString: names no Host");
        }

        if (o.PasswordFile is not null)
        {
            if (cs.Password is not null)
            {
                errors.Add($"{s}:PasswordFile: the connection string holds a password already");
            }
            else if (!File.Exists(o.PasswordFile))
            {
                errors.Add($"{s}:PasswordFile: '{o.PasswordFile}' does not exist");
            }
        }
    }

    /// <summary>The keyword Npgsql could not set (unknown, or its value of the wrong form), never the value; else only what kind of error it is.</summary>
    private static string Unsupported(Exception e) =>
        e is ArgumentException { ParamName: { Length: > 0 and <= 64 } keyword } && keyword.All(char.IsAsciiLetterOrDigit)
            ? $"cannot set '{keyword}': an unknown keyword or a value of the wrong form"
            : e.GetType().Name;
}
