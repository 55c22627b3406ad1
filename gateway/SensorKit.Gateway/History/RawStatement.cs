using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace SensorKit.Gateway.History;

/// <summary>
/// A prepared statement bound through SQLite's own API: the writer's two statements run once per window, and
/// <see cref="SqliteParameter.Value"/> boxes every value (2 KB of garbage and about half the cost of a window).
/// Runs on the connection's handle, so it takes part in the connection's transaction.
/// </summary>
internal sealed class RawStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;

    public RawStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(_db, sql, out _stmt), _db);
    }

    /// <summary>Binds by position, 1-based as SQLite counts.</summary>
    public void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_stmt, index, value));

    public void Bind(int index, double value) => Check(raw.sqlite3_bind_double(_stmt, index, value));

    /// <summary>Runs it; the rows it changed (0 when INSERT OR IGNORE ignored it).</summary>
    public int Execute()
    {
        int rc = raw.sqlite3_step(_stmt);
        raw.sqlite3_reset(_stmt);
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }

        return raw.sqlite3_changes(_db);
    }

    public void Dispose() => _stmt.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
