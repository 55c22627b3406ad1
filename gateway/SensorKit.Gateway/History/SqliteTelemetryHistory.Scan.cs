using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace SensorKit.Gateway.History;

public sealed partial class SqliteTelemetryHistory
{
    public IEnumerable<HistoryRow> Scan(HistoryScan scan, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Channels.Count == 0 || scan.Limit is <= 0)
        {
            yield break;
        }

        Dictionary<long, HistoryChannel> channels = scan.Channels.DistinctBy(c => c.Id).ToDictionary(c => c.Id);
        using var db = new SqliteConnection(_readConnection);
        db.Open();
        using SqliteCommand cmd = db.CreateCommand();
        HistorySql.Scan(cmd, scan, ChannelCondition(cmd, channels.Keys), count: false);
        using SqliteDataReader r = cmd.ExecuteReader();
        foreach (HistoryRow row in HistorySql.Read(r, channels, ct))
        {
            yield return row;
        }
    }

    public long Count(HistoryScan scan)
    {
        ArgumentNullException.ThrowIfNull(scan);
        if (scan.Channels.Count == 0)
        {
            return 0;
        }

        using var db = new SqliteConnection(_readConnection);
        db.Open();
        using SqliteCommand cmd = db.CreateCommand();
        HistorySql.Scan(cmd, scan, ChannelCondition(cmd, scan.Channels.Select(c => c.Id).Distinct()), count: true);
        return (long)cmd.ExecuteScalar()!;
    }

    private static string ChannelCondition(SqliteCommand cmd, IEnumerable<long> channels)
    {
        long[] ids = [.. channels.Order()];
        if (ids.Length == 1)
        {
            cmd.Parameters.AddWithValue("@channel", ids[0]);
            return "channel = @channel";
        }

        // One parameter however many channels: SQLite caps the number of parameters.
        cmd.Parameters.AddWithValue("@channels", JsonSerializer.Serialize(ids));
        return "channel IN (SELECT value FROM json_each(@channels))";
    }
}
