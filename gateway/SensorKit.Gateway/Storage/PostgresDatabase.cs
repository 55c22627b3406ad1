using System.Globalization;
using Npgsql;
using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Storage;

/// <summary>
/// Opens the PostgreSQL database of State:Provider PostgreSql the one way the alert store and the history share:
/// a pooled data source with the password from State:PasswordFile, the schema created under an advisory lock (gateways
/// of a group start at once), a schema version in the table meta, and errors that say which key to fix.
/// </summary>
internal static class PostgresDatabase
{
    /// <summary>Serialises the schema scripts of gateways starting together: CREATE ... IF NOT EXISTS races otherwise.</summary>
    internal const long SchemaLock = 0x53656e736f724b;

    /// <summary>Where the database is, for log lines and errors: host, port, database and user, never the password.</summary>
    public static string Describe(StateOptions options)
    {
        var cs = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        return string.Create(CultureInfo.InvariantCulture, $"PostgreSQL {cs.Host}:{cs.Port}/{cs.Database ?? cs.Username}");
    }

    /// <summary>A pooled data source on the configured database, with the password from State:PasswordFile; nothing is run on it yet.</summary>
    /// <exception cref="GatewayConfigurationException">The password file cannot be read.</exception>
    public static NpgsqlDataSource Source(StateOptions options, string? searchPath = null)
    {
        var builder = new NpgsqlDataSourceBuilder(options.ConnectionString);
        if (options.PasswordFile is { } file)
        {
            try
            {
                builder.ConnectionStringBuilder.Password = File.ReadAllText(file).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new GatewayConfigurationException($"{StateOptions.Section}:PasswordFile: cannot read {file}: {e.Message}", e);
            }
        }

        if (searchPath is not null)
        {
            builder.ConnectionStringBuilder.SearchPath = searchPath;
        }

        return builder.Build();
    }

    /// <summary>
    /// A data source on the configured database, with <paramref name="searchPath"/> when given (the history keeps
    /// its tables in a schema of their own); <paramref name="schema"/> run and <paramref name="version"/> checked.
    /// </summary>
    /// <param name="what">What the tables hold, for the version error ("state", "history").</param>
    /// <exception cref="GatewayConfigurationException">The password file cannot be read, or the server refuses the login or knows no such database.</exception>
    /// <exception cref="StateStoreException">The server cannot be reached or failed otherwise.</exception>
    public static NpgsqlDataSource Open(StateOptions options, string? searchPath, string schema, int version, string what)
    {
        NpgsqlDataSource db = Source(options, searchPath);
        string location = Describe(options);
        try
        {
            using NpgsqlConnection c = db.OpenConnection();
            using NpgsqlTransaction tx = c.BeginTransaction();
            Execute(c, tx, $"SELECT pg_advisory_xact_lock({SchemaLock})");
            if (searchPath is not null)
            {
                Execute(c, tx, $"CREATE SCHEMA IF NOT EXISTS {searchPath}");
            }

            Execute(c, tx, schema + "\nCREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);");
            using var check = new NpgsqlCommand("INSERT INTO meta (key, value) VALUES ('schema', @v) ON CONFLICT (key) DO NOTHING; SELECT value FROM meta WHERE key = 'schema'", c, tx);
            string v = version.ToString(CultureInfo.InvariantCulture);
            check.Parameters.AddWithValue("v", v);
            string stored = (string)check.ExecuteScalar()!;
            if (stored != v)
            {
                throw new InvalidOperationException($"{location}: {what} schema version {stored} is not {v}");
            }

            tx.Commit();
            return db;
        }
        catch (PostgresException e) when (IsConfiguration(e))
        {
            db.Dispose();
            throw new GatewayConfigurationException($"{StateOptions.Section}:ConnectionString: {location}: {e.MessageText}", e);
        }
        catch (NpgsqlException e)
        {
            db.Dispose();
            throw Failure(location, e);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a connection of the pool; a database failure becomes a <see cref="StateStoreException"/>.
    /// A transient one (the server restarted, so the pooled connections are dead) is tried once more on a new
    /// connection: work that failed did not commit, and each piece of work is one transaction or one statement.
    /// </summary>
    public static T Run<T>(NpgsqlDataSource db, string location, Func<NpgsqlConnection, T> work)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                using NpgsqlConnection c = db.OpenConnection();
                return work(c);
            }
            catch (NpgsqlException e) when (attempt == 1 && e.IsTransient)
            {
                db.Clear();
            }
            catch (NpgsqlException e)
            {
                throw Failure(location, e);
            }
        }
    }

    /// <summary>A failed statement as the stores report it: the callers keep running and retry what stayed dirty.</summary>
    public static StateStoreException Failure(string location, NpgsqlException e) => new($"{location}: {e.Message}", e);

    public static void Execute(NpgsqlConnection c, NpgsqlTransaction? tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Refused logins (class 28), a database that does not exist, missing rights: settings to fix, not outages to wait out.</summary>
    private static bool IsConfiguration(PostgresException e) =>
        e.SqlState.StartsWith("28", StringComparison.Ordinal) || e.SqlState is PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.InsufficientPrivilege;
}
