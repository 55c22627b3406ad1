using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Outputs.OpenData.SensorThings;
using SensorKit.Gateway.State;
using SensorKit.Protocol;
using SensorKit.Gateway.Storage;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Fleet;

namespace SensorKit.Gateway.Outputs.OpenData.Archive;

/// <summary>
/// Per site and UTC day a CSV of every raw window (by window end), with a Frictionless data package (datapackage.json
/// and its Table Schema) per site and an index.json over all. A day is written once it is over and never changed;
/// a missing day is filled in at the next pass as long as the history still holds it raw.
/// </summary>
public sealed partial class DailyArchive(
    IOptions<OpenDataOptions> options,
    IOptions<StateOptions> state,
    IHostEnvironment environment,
    ITelemetryHistory history,
    IFleet nodes,
    NodePositionLog positions,
    TimeProvider time,
    ILogger<DailyArchive> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>How far back a pass looks for days not written yet (the default raw retention).</summary>
    public const int DaysBack = 30;

    private static readonly string[] Columns = ["site", "node", "lat", "lon", "sensor", "quantity", "unit", "window_start", "window_end", "count", "min", "max", "mean", "stddev", "quality_flags", "chip", "observation_id", "datastream_id", "attribution"];

    private readonly OpenDataOptions _o = options.Value;
    private readonly Lock _lock = new();

    public string Directory => Path.Combine(state.Value.ResolveDirectory(environment.ContentRootPath), _o.ArchiveDirectory);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_o.Enabled || !_o.ArchiveEnabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                WriteCompleteDays(time.GetUtcNow(), stoppingToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Data.Common.DbException or StateStoreException)
            {
                LogFailed(e.Message);
            }

            try
            {
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // The gateway stops: a day not written yet is written at the next start.
                return;
            }
        }
    }

    /// <summary>Writes every finished day not in the archive yet; returns how many files it wrote.</summary>
    public int WriteCompleteDays(DateTimeOffset now, CancellationToken ct = default)
    {
        lock (_lock)
        {
            int written = 0;
            DateTimeOffset today = new(now.UtcDateTime.Date, TimeSpan.Zero);
            IReadOnlyList<HistoryChannel> channels = history.Channels();
            foreach (IGrouping<string, HistoryChannel> site in channels.GroupBy(c => c.Site).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                for (DateTimeOffset day = today.AddDays(-DaysBack); day < today; day = day.AddDays(1))
                {
                    string file = Path.Combine(Directory, site.Key, FileName(site.Key, day));
                    if (!File.Exists(file) && WriteDay(site.Key, [.. site], day, file, ct))
                    {
                        written++;
                    }
                }
            }

            if (written > 0 || !File.Exists(Path.Combine(Directory, "index.json")))
            {
                WriteIndexes();
            }

            return written;
        }
    }

    public static string FileName(string site, DateTimeOffset day) => $"{site}-{day:yyyy-MM-dd}.csv";

    /// <summary>GET /open-data/archive/{file}: the index, a site's data package and schema, or a day's CSV.</summary>
    public async Task ServeAsync(HttpContext context)
    {
        string file = context.Request.RouteValues["file"] as string ?? string.Empty;
        string? contentType = file == "index.json" ? "application/json" : ArchivePath().Match(file) is { Success: true } m
            ? (m.Groups["csv"].Success ? "text/csv; charset=utf-8; header=present" : "application/json")
            : null;
        string full = Path.Combine(Directory, file);
        if (contentType is null || !File.Exists(full))
        {
            await StaService.WriteErrorAsync(context.Response, 404, $"no archive file '{StaSchema.Clip(file)}'; see index.json", context.RequestAborted);
            return;
        }

        context.Response.ContentType = contentType;
        context.Response.Headers.AccessControlAllowOrigin = "*";
        await context.Response.SendFileAsync(full, context.RequestAborted);
    }

    private bool WriteDay(string site, List<HistoryChannel> channels, DateTimeOffset day, string file, CancellationToken ct)
    {
        long from = day.ToUnixTimeMilliseconds(), to = day.AddDays(1).ToUnixTimeMilliseconds();
        var scan = new HistoryScan
        {
            Channels = channels,
            Where = new HistoryCompare(HistoryColumn.End, HistoryComparison.GreaterOrEqual, from) & new HistoryCompare(HistoryColumn.End, HistoryComparison.Less, to),
        };
        string tmp = file + ".tmp";
        int rows = 0;
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        using (var writer = new StreamWriter(tmp, false, new UTF8Encoding(false)))
        {
            writer.NewLine = "\r\n";
            writer.WriteLine(string.Join(',', Columns));
            var sb = new StringBuilder();
            IReadOnlyDictionary<(string Site, string Node), IReadOnlyList<NodePosition>> places = positions.All();
            foreach (HistoryRow r in history.Scan(scan, ct))
            {
                HistoryChannel c = r.Channel;
                (string lat, string lon) = Position(places, c.Site, c.Node, r.End);
                sb.Clear();
                Append(sb, c.Site).Append(',');
                Append(sb, c.Node).Append(',');
                sb.Append(lat).Append(',').Append(lon).Append(',');
                Append(sb, c.Sensor).Append(',');
                Append(sb, c.Quantity).Append(',');
                Append(sb, c.Unit).Append(',');
                sb.Append(StaWriter.Time(r.Start)).Append(',').Append(StaWriter.Time(r.End)).Append(',');
                sb.Append(r.Count.ToString(CultureInfo.InvariantCulture)).Append(',');
                sb.Append(Number(r.Min)).Append(',').Append(Number(r.Max)).Append(',').Append(Number(r.Mean)).Append(',').Append(Number(r.StdDev)).Append(',');
                Append(sb, Flags(r.Flags)).Append(',');
                Append(sb, StaCatalog.ChipOf(nodes.All, c)).Append(',');
                Append(sb, StaCatalog.ObservationId(c, r.End)).Append(',');
                Append(sb, StaCatalog.DatastreamId(c)).Append(',');
                Append(sb, _o.ResolveAttribution(c.Site, c.Node));
                writer.WriteLine(sb);
                rows++;
            }
        }

        if (rows == 0)
        {
            File.Delete(tmp);
            return false;
        }

        File.Move(tmp, file, overwrite: true);
        LogWritten(file, rows);
        return true;
    }

    private void WriteIndexes()
    {
        (string name, Uri url) = OpenDataOptions.Licenses[_o.License];
        var sites = new List<(string Site, List<(string File, long Bytes, string Sha256)> Days)>();
        System.IO.Directory.CreateDirectory(Directory);
        foreach (string siteDir in System.IO.Directory.GetDirectories(Directory).Order(StringComparer.Ordinal))
        {
            string site = Path.GetFileName(siteDir);
            var days = System.IO.Directory.GetFiles(siteDir, "*.csv").Order(StringComparer.Ordinal)
                .Select(f => (Path.GetFileName(f), new FileInfo(f).Length, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))))).ToList();
            sites.Add((site, days));
            WriteJson(Path.Combine(siteDir, "schema.json"), w => WriteSchema(w));
            WriteJson(Path.Combine(siteDir, "datapackage.json"), w =>
            {
                w.WriteStartObject();
                w.WriteString("profile", "tabular-data-package");
                w.WriteString("name", $"sensorkit-{site}");
                w.WriteString("title", $"{_o.Title}: site {site}");
                w.WriteString("description", _o.Description);
                License(w, name, url);
                w.WriteStartArray("contributors");
                w.WriteStartObject();
                w.WriteString("title", _o.Publisher);
                w.WriteString("role", "publisher");
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteStartArray("resources");
                foreach ((string file, long bytes, string sha) in days)
                {
                    w.WriteStartObject();
                    w.WriteString("name", Path.GetFileNameWithoutExtension(file));
                    w.WriteString("path", file);
                    w.WriteString("profile", "tabular-data-resource");
                    w.WriteString("format", "csv");
                    w.WriteString("mediatype", "text/csv");
                    w.WriteString("encoding", "utf-8");
                    w.WriteNumber("bytes", bytes);
                    w.WriteString("hash", "sha256:" + sha);
                    w.WriteString("schema", "schema.json");
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            });
        }

        WriteJson(Path.Combine(Directory, "index.json"), w =>
        {
            w.WriteStartObject();
            w.WriteString("title", _o.Title);
            w.WriteString("publisher", _o.Publisher);
            w.WriteString("attribution", _o.Attribution ?? _o.Publisher);
            License(w, name, url);
            w.WriteString("privacy", $"positions rounded to {_o.LocationRoundingMetres} m (or a node's own setting), no altitude; no node health or operating data");
            w.WriteStartArray("sites");
            foreach ((string site, List<(string File, long Bytes, string Sha256)> days) in sites)
            {
                w.WriteStartObject();
                w.WriteString("site", site);
                w.WriteString("datapackage", $"{site}/datapackage.json");
                w.WriteStartArray("days");
                foreach ((string file, long bytes, string sha) in days)
                {
                    w.WriteStartObject();
                    w.WriteString("date", file[(site.Length + 1)..^4]);
                    w.WriteString("path", $"{site}/{file}");
                    w.WriteNumber("bytes", bytes);
                    w.WriteString("sha256", sha);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void License(Utf8JsonWriter w, string title, Uri url)
    {
        w.WriteStartArray("licenses");
        w.WriteStartObject();
        w.WriteString("name", OpenDataOptions.Licenses.First(l => l.Value.Url == url).Key);
        w.WriteString("path", url.ToString());
        w.WriteString("title", title);
        w.WriteEndObject();
        w.WriteEndArray();
    }

    private static void WriteSchema(Utf8JsonWriter w)
    {
        (string Name, string Type, string Description)[] fields =
        [
            ("site", "string", "the site (a deployment: a town, a school, a river)"),
            ("node", "string", "the node within the site"),
            ("lat", "number", "latitude of the node when the window ended, WGS 84, rounded to the node's published grid (default 100 m)"),
            ("lon", "number", "longitude of the node when the window ended, WGS 84, rounded likewise"),
            ("sensor", "string", "the sensor on the node, as the node names it"),
            ("quantity", "string", "observed quantity, e.g. temperature, humidity, pressure"),
            ("unit", "string", "unit code (SenML, UCUM-compatible): Cel, %RH, Pa, lx, ..."),
            ("window_start", "datetime", "window start, UTC"),
            ("window_end", "datetime", "window end, UTC"),
            ("count", "integer", "samples in the window"),
            ("min", "number", "smallest sample"),
            ("max", "number", "largest sample"),
            ("mean", "number", "mean of the window's samples (the Observation's result)"),
            ("stddev", "number", "population standard deviation of the samples"),
            ("quality_flags", "string", "space-separated: gaps, read-errors, out-of-range, stuck, stale; empty when none"),
            ("chip", "string", "the sensor's chip type, e.g. BME280 (the SensorThings Sensor)"),
            ("observation_id", "string", "SensorThings Observation id"),
            ("datastream_id", "string", "SensorThings Datastream id (site.node.sensor.quantity)"),
            ("attribution", "string", "who to credit for this node's data"),
        ];
        w.WriteStartObject();
        w.WriteStartArray("fields");
        foreach ((string n, string t, string d) in fields)
        {
            w.WriteStartObject();
            w.WriteString("name", n);
            w.WriteString("type", t);
            if (t == "datetime")
            {
                w.WriteString("format", "any");
            }

            w.WriteString("description", d);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("primaryKey");
        w.WriteStringValue("observation_id");
        w.WriteEndArray();
        w.WriteStartArray("missingValues");
        w.WriteStringValue(string.Empty);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteJson(string path, Action<Utf8JsonWriter> write)
    {
        string tmp = path + ".tmp";
        using (FileStream f = File.Create(tmp))
        using (var w = new Utf8JsonWriter(f, new JsonWriterOptions { Indented = true }))
        {
            write(w);
        }

        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Where the node stood (as published) when the window ended: the same positions as the HistoricalLocations.</summary>
    private static (string Lat, string Lon) Position(IReadOnlyDictionary<(string Site, string Node), IReadOnlyList<NodePosition>> places, string site, string node, DateTimeOffset at)
    {
        if (!places.TryGetValue((site, node), out IReadOnlyList<NodePosition>? list) || list.Count == 0)
        {
            return (string.Empty, string.Empty);
        }

        NodePosition p = list.LastOrDefault(x => x.Since <= at) ?? list[0];
        return (Number(p.Latitude), Number(p.Longitude));
    }


    private static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Flags(QualityFlags f) => f == QualityFlags.None ? string.Empty : string.Join(' ',
        new[] { (QualityFlags.Gaps, "gaps"), (QualityFlags.ReadErrors, "read-errors"), (QualityFlags.OutOfRange, "out-of-range"), (QualityFlags.Stuck, "stuck"), (QualityFlags.Stale, "stale") }
            .Where(x => f.HasFlag(x.Item1)).Select(x => x.Item2));

    /// <summary>RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.</summary>
    private static StringBuilder Append(StringBuilder sb, string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") < 0 ? sb.Append(s) : sb.Append('"').Append(s.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');

    [GeneratedRegex(@"^[a-z0-9_-]{1,64}/(?:(?<csv>[a-z0-9_-]{1,64}-\d{4}-\d{2}-\d{2}\.csv)|datapackage\.json|schema\.json)$")]
    private static partial Regex ArchivePath();

    [LoggerMessage(Level = LogLevel.Information, Message = "Open data: archived {Rows} observations in {File}")]
    private partial void LogWritten(string file, int rows);

    [LoggerMessage(Level = LogLevel.Error, Message = "Open data: the daily archive failed, retried in an hour: {Reason}")]
    private partial void LogFailed(string reason);
}
