using System.Globalization;
using Microsoft.Data.Sqlite;

namespace SensorKit.Gateway.Storage;

/// <summary>
/// Opens the SQLite databases of the state folder (the alert state store, the telemetry history) the one way they
/// share: the folder created if needed, WAL with synchronous=FULL (a committed transaction survives a power cut),
/// a schema version in the table meta, and a folder or file that cannot be used reported as State:Directory.
/// </summary>
internal static class StateDatabase
{
    /// <summary>The pragmas every state database starts with; a database's own follow in its schema script.</summary>
    public const string Durable = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = FULL;
        PRAGMA busy_timeout = 5000;

        """;

    /// <summary>Opens <paramref name="path"/> for writing, creating its folder; what cannot be created or opened is a configuration error.</summary>
    public static SqliteConnection Open(string path)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            db.Open();
            return db;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SqliteException)
        {
            db.Dispose();
            throw Unusable(path, e);
        }
    }

    /// <summary>
    /// <see cref="Open"/>, then <see cref="Durable"/> and <paramref name="schema"/>, then <see cref="EnsureSchemaVersion"/>;
    /// the connection is disposed when anything fails.
    /// </summary>
    /// <param name="path">The database file.</param>
    /// <param name="schema">The database's own pragmas and CREATE ... IF NOT EXISTS statements.</param>
    /// <param name="version">The schema version it records in meta.</param>
    /// <param name="what">What the database holds, for the version error ("state", "history").</param>
    /// <param name="schemaFailureIsUnusable">
    /// True: an SQLite error while the schema is created (a file that is no database) is reported like a folder that
    /// cannot be used, naming State:Directory. The history does so; the alert store lets it through as it always did.
    /// </param>
    public static SqliteConnection Create(string path, string schema, int version, string what, bool schemaFailureIsUnusable)
    {
        SqliteConnection db = Open(path);
        try
        {
            Execute(db, Durable + schema);
            EnsureSchemaVersion(db, version, path, what);
            return db;
        }
        catch (Exception e) when (schemaFailureIsUnusable && (e is IOException or UnauthorizedAccessException or SqliteException))
        {
            db.Dispose();
            throw Unusable(path, e);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>The error of a database in the state folder that cannot be created or opened.</summary>
    public static GatewayConfigurationException Unusable(string path, Exception e) =>
        new($"{StateOptions.Section}:Directory: cannot create or open {path}: {e.Message}", e);

    public static void Execute(SqliteConnection db, string sql)
    {
        using SqliteCommand cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// Records <paramref name="version"/> in the table meta (key, value) of a new database, creating the table; an
    /// existing database of another version is refused, naming <paramref name="what"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The file holds another schema version.</exception>
    public static void EnsureSchemaVersion(SqliteConnection db, int version, string path, string what)
    {
        string v = version.ToString(CultureInfo.InvariantCulture);
        using SqliteCommand cmd = db.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta (key, value) VALUES ('schema', $v) ON CONFLICT (key) DO NOTHING;
            SELECT value FROM meta WHERE key = 'schema';
            """;
        cmd.Parameters.AddWithValue("$v", v);
        string stored = (string)cmd.ExecuteScalar()!;
        if (stored != v)
        {
            throw new InvalidOperationException($"{path}: {what} schema version {stored} is not {v}; move the file away to start afresh");
        }
    }
}
