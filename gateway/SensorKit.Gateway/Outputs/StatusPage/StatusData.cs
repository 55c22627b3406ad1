using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.State;
using SensorKit.Protocol;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Fleet;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>An active alert with what its last CAP message says.</summary>
internal sealed record ActiveAlert(StoredAlert Alert, CapDigest? Digest);

/// <summary>A message of the alert history with its CAP digest.</summary>
internal sealed record HistoryEntry(StoredMessage Message, CapDigest Digest);

/// <summary>A channel's last 24 hours, averaged into buckets.</summary>
internal sealed record ChannelSeries(HistoryChannel Channel, IReadOnlyList<PlotPoint> Points, LatestValue? Latest);

/// <summary>Reads what the pages show from the gateway's stores; every call is a fresh look.</summary>
internal sealed class StatusData(
    IAlertStore store,
    IFleet nodes,
    ITelemetryHistory history,
    LiveHub live,
    IOptions<CapOptions> cap,
    IOptions<StatusPageOptions> options,
    TimeProvider time)
{
    private const int MaxCachedDigests = 2048;

    // CAP messages never change once sent, so their digests are kept by identifier.
    private readonly ConcurrentDictionary<string, CapDigest?> _digests = new(StringComparer.Ordinal);

    public DateTimeOffset Now => time.GetUtcNow();

    public StatusPageOptions Options => options.Value;

    public IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> Nodes => nodes.All;

    public NodeStatusMessage? Node(string site, string node) => nodes.Get(site, node);

    public string SiteName(string site, StatusText text) =>
        cap.Value.Sites.TryGetValue(site, out Dictionary<string, string>? names)
        && (names.TryGetValue(text.Language == "de" ? "de-DE" : "en-US", out string? name) || names.TryGetValue(text.Language, out name))
            ? name
            : site;

    /// <summary>Active alerts, not withdrawn; <paramref name="audience"/> "Public" or "Operator", null for both.</summary>
    public List<ActiveAlert> ActiveAlerts(string? audience = "Public") =>
        [.. store.LoadAlerts()
            .Where(a => !a.Cancelled && (audience is null || a.Audience == audience))
            .OrderByDescending(a => a.Level).ThenByDescending(a => a.RaisedAt)
            .Select(a => new ActiveAlert(a, Digest(a.LastIdentifier)))];

    public List<HistoryEntry> AlertHistory() =>
        [.. store.LoadFeed(Now - Options.HistoryRange, Options.HistoryEntries * 2)
            .Where(m => m.State != StoredMessage.Reissued)
            .Select(m => Digest(m.Identifier) is { IsPublic: true } d ? new HistoryEntry(m, d) : null)
            .OfType<HistoryEntry>()
            .Take(Options.HistoryEntries)];

    public CapDigest? Digest(string identifier)
    {
        if (_digests.TryGetValue(identifier, out CapDigest? known))
        {
            return known;
        }

        CapDigest? digest = store.LoadMessage(identifier) is { Cap: { } document } ? CapDigest.Read(document) : null;
        if (_digests.Count >= MaxCachedDigests)
        {
            _digests.Clear();
        }

        _digests[identifier] = digest;
        return digest;
    }

    /// <summary>Where the nodes behind an alert stand.</summary>
    public List<(double Lat, double Lon)> Positions(string site, IEnumerable<string> nodeIds) =>
        [.. nodeIds.Select(n => nodes.Location(site, n)).OfType<GeoLocation>().Select(l => (l.Latitude, l.Longitude))];

    /// <summary>The latest value of each channel of a node: from live data, else the newest stored window.</summary>
    public List<LatestValue> LatestValues(string site, string node)
    {
        var list = new List<LatestValue>();
        foreach (HistoryChannel c in history.Channels(site, node))
        {
            if (live.Latest(site, node, c.Sensor, c.Quantity) is { } v)
            {
                list.Add(v);
                continue;
            }

            foreach (HistoryRow row in history.Scan(new HistoryScan { Channels = [c], OrderBy = [(HistoryColumn.End, true)], Limit = 1 }))
            {
                var stored = new LatestValue(c.Sensor, c.Quantity, c.Unit, row.Mean, row.End, row.Flags);
                live.Seed(site, node, stored);
                list.Add(stored);
            }
        }

        return list;
    }

    /// <summary>Each channel of a node over the last 24 hours, in <see cref="StatusPageOptions.PlotPoints"/> buckets.</summary>
    public List<ChannelSeries> Series(string site, string node, DateTimeOffset from, DateTimeOffset to)
    {
        int buckets = Options.PlotPoints;
        double bucketMs = (to - from).TotalMilliseconds / buckets;
        var result = new List<ChannelSeries>();
        foreach (HistoryChannel c in history.Channels(site, node))
        {
            var sums = new (double Sum, long Count, double Min, double Max, bool Doubt)[buckets];
            HistoryCursor? after = null;
            do
            {
                HistoryPage page = history.Query(new HistoryQuery
                {
                    Site = site, Node = node, Sensor = c.Sensor, Quantity = c.Quantity, From = from, To = to, Limit = HistoryQuery.MaxLimit, After = after,
                });
                foreach (HistoryRow row in page.Rows)
                {
                    int i = Math.Clamp((int)((row.End - from).TotalMilliseconds / bucketMs), 0, buckets - 1);
                    ref var b = ref sums[i];
                    b = b.Count == 0
                        ? (row.Mean * row.Count, row.Count, row.Min, row.Max, row.Flags != QualityFlags.None)
                        : (b.Sum + (row.Mean * row.Count), b.Count + row.Count, Math.Min(b.Min, row.Min), Math.Max(b.Max, row.Max), b.Doubt || row.Flags != QualityFlags.None);
                }

                after = page.Next;
            }
            while (after is not null);

            var points = new List<PlotPoint>();
            for (int i = 0; i < buckets; i++)
            {
                if (sums[i].Count > 0)
                {
                    points.Add(new PlotPoint(from.AddMilliseconds(i * bucketMs), from.AddMilliseconds((i + 1) * bucketMs), sums[i].Sum / sums[i].Count, sums[i].Min, sums[i].Max, sums[i].Doubt));
                }
            }

            result.Add(new ChannelSeries(c, points, LatestValues(site, node).FirstOrDefault(v => v.Sensor == c.Sensor && v.Quantity == c.Quantity)));
        }

        return result;
    }

    /// <summary>
    /// Places a visitor can name: each site (its configured names and id) at the middle of its nodes, and each node.
    /// Matched without regard to case.
    /// </summary>
    public List<(string Name, double Lat, double Lon)> Places(StatusText text)
    {
        var places = new List<(string, double, double)>();
        foreach (IGrouping<string, KeyValuePair<(string Site, string Node), NodeStatusMessage>> site in nodes.All.Where(n => n.Value.Location is not null).GroupBy(n => n.Key.Site).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            double lat = site.Average(n => n.Value.Location!.Latitude), lon = site.Average(n => n.Value.Location!.Longitude);
            places.Add((SiteName(site.Key, text), lat, lon));
            foreach (var n in site.OrderBy(n => n.Key.Node, StringComparer.Ordinal))
            {
                places.Add(($"{SiteName(site.Key, text)} {n.Key.Node}", n.Value.Location!.Latitude, n.Value.Location!.Longitude));
            }
        }

        return places;
    }

    /// <summary>The place named <paramref name="name"/>: a site by id or configured name, a node by id, or "site node".</summary>
    public (string Name, double Lat, double Lon)? FindPlace(string name, StatusText text)
    {
        string q = name.Trim();
        foreach ((string Site, string Node) key in nodes.All.Keys.OrderBy(k => k.Site, StringComparer.Ordinal).ThenBy(k => k.Node, StringComparer.Ordinal))
        {
            if (string.Equals(q, key.Node, StringComparison.OrdinalIgnoreCase))
            {
                return Places(text).FirstOrDefault(p => p.Name == $"{SiteName(key.Site, text)} {key.Node}") is { Name: not null } p ? p : null;
            }
        }

        foreach (string site in nodes.All.Keys.Select(k => k.Site).Distinct())
        {
            IEnumerable<string> names = cap.Value.Sites.TryGetValue(site, out Dictionary<string, string>? n) ? n.Values.Append(site) : [site];
            if (names.Any(n => string.Equals(q, n, StringComparison.OrdinalIgnoreCase)))
            {
                return Places(text).FirstOrDefault(p => p.Name == SiteName(site, text)) is { Name: not null } p ? p : null;
            }
        }

        return Places(text).FirstOrDefault(p => string.Equals(p.Name, q, StringComparison.OrdinalIgnoreCase)) is { Name: not null } found ? found : null;
    }
}
