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

    /// <summary>The error of a database in the state folder that cannot be created or opened.</summary>
    public static GatewayConfigurationException Unusable(string path, Exception e) =>
        new($"{StateOptions.Section}:Directory: cannot create or open {path}: {e.Message}", e);

    public static void Execute(SqliteConnection db, string sql)
    {
        using SqliteCommand cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Records <paramref name="version"/> in a new database; an existing one of another version is refused, naming <paramref name="what"/>.</summary>
    /// <exception cref="InvalidOperationException">The file holds another schema version.</exception>
    public static void EnsureSchemaVersion(SqliteConnection db, int version, string path, string what)
    {
        string v = version.ToString(CultureInfo.InvariantCulture);
        using SqliteCommand cmd = db.CreateCommand();
        cmd.CommandText = "INSERT INTO meta (key, value) VALUES ('schema', $v) ON CONFLICT (key) DO NOTHING; SELECT value FROM meta WHERE key = 'schema';";
        cmd.Parameters.AddWithValue("$v", v);
        string stored = (string)cmd.ExecuteScalar()!;
        if (stored != v)
        {
            throw new InvalidOperationException($"{path}: {what} schema version {stored} is not {v}; move the file away to start afresh");
        }
    }
}
