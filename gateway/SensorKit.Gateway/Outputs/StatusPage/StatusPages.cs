using System.Globalization;
using Microsoft.AspNetCore.Http;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.Outputs.OpenData.SensorThings;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>A page: its title, where it sits in the navigation, and its parts. <see cref="Live"/> is what live updates replace.</summary>
internal sealed record Page(string Title, string Nav, Action<HtmlBuilder>? Before, Action<HtmlBuilder> Live, Action<HtmlBuilder>? After, int Status = StatusCodes.Status200OK);

/// <summary>One request's view: its language and how links back into the page are written.</summary>
internal sealed record PageRequest(StatusText Text, string Path, IQueryCollection Query)
{
    /// <summary>A link below /status in this page's language, with extra query parameters (encoded here).</summary>
    public string Link(string path, params ReadOnlySpan<(string Name, string? Value)> query)
    {
        var q = new System.Text.StringBuilder("?lang=").Append(Text.Language);
        foreach ((string name, string? value) in query)
        {
            if (!string.IsNullOrEmpty(value))
            {
                q.Append('&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        return StatusPageExtensions.PathBase + path + q;
    }

    public string? Param(string name) => Query.TryGetValue(name, out Microsoft.Extensions.Primitives.StringValues v) && v.Count == 1 ? v[0] : null;
}

/// <summary>The pages, server-rendered and complete without JavaScript.</summary>
internal sealed class StatusPages(StatusData data, RejectionCounts rejections, Func<Uri?> baseAddress)
{
    public const int MaxPlaceNameLength = 100;

    private DateTimeOffset Now => data.Now;

    public Page Warnings(PageRequest r)
    {
        StatusText t = r.Text;
        List<ActiveAlert> alerts = data.ActiveAlerts();
        return new Page(t.WarningsTitle, "warnings",
            h => h.Element("h1", t.WarningsTitle),
            h =>
            {
                h.Element("p", alerts.Count == 0 ? t.NoWarnings : t.WarningCount(alerts.Count), ("class", "summary"), ("data-summary", ""));
                WarningList(h, r, alerts, null);
            },
            h => PlaceForm(h, r, null, null, null, null, null));
    }

    public Page Place(PageRequest r)
    {
        StatusText t = r.Text;
        string? name = r.Param("q")?.Trim();
        // Coordinates win over a name; a name alone may come with a radius.
        string? problem = null;
        PlaceQuery? place = r.Query.ContainsKey("lat") || r.Query.ContainsKey("lon") || string.IsNullOrEmpty(name)
            ? PlaceQuery.Parse(r.Query, data.Options.DefaultRadiusKm, out problem)
            : null;
        bool unknown = false;
        if (problem is null && place is null && !string.IsNullOrEmpty(name))
        {
            if (name.Length <= MaxPlaceNameLength && data.FindPlace(name, t) is { } found)
            {
                double? radius = r.Param("radius") is { Length: > 0 } given
                    ? PlaceQuery.Number(given.Trim(), "radius", PlaceQuery.MinRadiusKm, PlaceQuery.MaxRadiusKm, ref problem)
                    : data.Options.DefaultRadiusKm;
                place = radius is { } km ? new PlaceQuery(found.Lat, found.Lon, km) : null;
            }
            else
            {
                unknown = true;
            }
        }

        int status = problem is not null ? StatusCodes.Status400BadRequest : unknown ? StatusCodes.Status404NotFound : StatusCodes.Status200OK;
        List<ActiveAlert> matching = place is null ? [] : [.. data.ActiveAlerts().Where(a => a.Digest?.Areas.Any(place.Touches) == true)];
        return new Page(t.PlaceTitle, "warnings",
            h =>
            {
                h.Element("h1", t.PlaceTitle);
                PlaceForm(h, r, name is { Length: <= MaxPlaceNameLength } ? name : null, r.Param("lat"), r.Param("lon"), r.Param("radius"), problem is not null ? t.InvalidPlace : null);
                if (unknown)
                {
                    h.Element("p", t.PlaceUnknown(name!.Length > MaxPlaceNameLength ? name[..MaxPlaceNameLength] + "…" : name), ("class", "error"));
                    h.Open("p").Text(t.KnownPlaces + " ").Text(string.Join(", ", data.Places(t).Select(p => p.Name))).Close("p");
                }
            },
            h =>
            {
                if (place is null)
                {
                    return;
                }

                h.Element("p", t.PlaceAt(place.Lat, place.Lon), ("class", "place-at"));
                h.Element("p", t.PlaceResult(matching.Count, place.RadiusKm), ("class", "summary"), ("data-summary", ""));
                WarningList(h, r, matching, (place.Lat, place.Lon));
            },
            h =>
            {
                if (place is not null)
                {
                    string feed = string.Create(CultureInfo.InvariantCulture, $"/cap/feed.atom?lat={place.Lat:0.#####}&lon={place.Lon:0.#####}&radius={place.RadiusKm:0.###}");
                    h.Open("p").Element("a", t.PlaceFeed, ("href", feed), ("type", CapAtomFeed.MediaType)).Close("p");
                }
            },
            status);
    }

    public Page Nodes(PageRequest r)
    {
        StatusText t = r.Text;
        var nodes = data.Nodes.OrderBy(n => n.Key.Site, StringComparer.Ordinal).ThenBy(n => n.Key.Node, StringComparer.Ordinal).ToList();
        return new Page(t.NodesTitle, "nodes",
            h => h.Element("h1", t.NodesTitle),
            h =>
            {
                h.Element("p", nodes.Count == 0 ? t.NoNodes : t.NodeCount(nodes.Count), ("class", "summary"), ("data-summary", ""));
                int siteIndex = 0;
                foreach (var site in nodes.GroupBy(n => n.Key.Site))
                {
                    string id = $"site-{++siteIndex}";
                    h.Open("section", ("aria-labelledby", id)).Element("h2", data.SiteName(site.Key, t), ("id", id));
                    h.Open("ul", ("class", "cards"));
                    foreach (var (key, status) in site)
                    {
                        h.Open("li").Open("article", ("class", $"node state-{status.State.ToString().ToLowerInvariant()}"));
                        h.Element("h3", key.Node);
                        NodeState(h, t, status);
                        Sensors(h, t, status, operatorView: false);
                        h.Element("h4", t.LastValues);
                        Values(h, t, data.LatestValues(key.Site, key.Node));
                        h.Open("p").Element("a", t.Details(key.Node), ("href", r.Link($"/nodes/{Uri.EscapeDataString(key.Site)}/{Uri.EscapeDataString(key.Node)}"))).Close("p");
                        h.Close("article").Close("li");
                    }

                    h.Close("ul").Close("section");
                }
            },
            null);
    }

    public Page Node(PageRequest r, string site, string node)
    {
        StatusText t = r.Text;
        if (data.Node(site, node) is not { } status)
        {
            return NotFound(r);
        }

        DateTimeOffset to = Now, from = to.AddHours(-24);
        return new Page(t.NodeTitle(node), "nodes",
            h =>
            {
                h.Element("h1", t.NodeTitle(node));
                h.Open("p").Text(t.SiteLabel + " ").Text(data.SiteName(site, t)).Close("p");
                NodeState(h, t, status);
                if (status.Location is { } at)
                {
                    h.Open("p").Text(t.PositionLabel + " ").Text(string.Create(t.Culture, $"{at.Latitude:0.000}° N, {at.Longitude:0.000}° {(t.Language == "de" ? "O" : "E")}")).Close("p");
                }

                Sensors(h, t, status, operatorView: false);
            },
            h =>
            {
                List<ChannelSeries> series = data.Series(site, node, from, to);
                h.Element("p", t.Last24h, ("class", "summary"), ("data-summary", ""));
                int i = 0;
                foreach (ChannelSeries s in series)
                {
                    Channel(h, r, s, from, to, ++i);
                }

                if (series.Count == 0)
                {
                    h.Element("p", t.NoHistory);
                }
            },
            h => h.Open("p").Element("a", t.BackToNodes, ("href", r.Link("/nodes"))).Close("p"));
    }

    public Page AlertHistory(PageRequest r)
    {
        StatusText t = r.Text;
        List<HistoryEntry> entries = data.AlertHistory();
        return new Page(t.HistoryTitle, "history",
            h =>
            {
                h.Element("h1", t.HistoryTitle);
                h.Element("p", t.HistoryIntro((int)Math.Ceiling(data.Options.HistoryRange.TotalDays)));
            },
            h =>
            {
                h.Element("p", entries.Count == 0 ? t.NoAlertHistory : t.WarningCount(entries.Count), ("class", "summary visually-hidden"), ("data-summary", ""));
                h.Open("ol", ("class", "history"));
                foreach (HistoryEntry e in entries)
                {
                    CapDigestInfo? info = e.Digest.Info(t.Language);
                    string headline = info?.Headline ?? info?.Event ?? e.Message.Title;
                    h.Open("li").Open("article");
                    h.Element("h2", headline);
                    h.Open("p", ("class", "meta")).Element("span", t.MessageType(e.Digest.MsgType, info?.Headline), ("class", "badge")).Text(" ");
                    Time(h, t, e.Message.Sent);
                    h.Text(" · ").Text(data.SiteName(e.Message.Site, t)).Close("p");
                    if (info?.Severity is { Length: > 0 } severity && e.Digest.MsgType == "Alert")
                    {
                        h.Element("p", $"{t.SeverityLabel} {t.Severity(severity)}");
                    }

                    h.Open("p").Element("a", t.CapLink, ("href", CapHref(e.Message.Identifier))).Close("p");
                    h.Close("article").Close("li");
                }

                h.Close("ol");
            },
            null);
    }

    public Page Operator(PageRequest r)
    {
        StatusText t = r.Text;
        return new Page(t.OperatorTitle, "operator",
            h =>
            {
                h.Element("h1", t.OperatorTitle);
                h.Element("p", t.OperatorIntro);
            },
            h =>
            {
                List<ActiveAlert> alerts = data.ActiveAlerts(audience: null);
                h.Element("p", alerts.Count == 0 ? t.NoOperatorAlerts : t.WarningCount(alerts.Count), ("class", "summary visually-hidden"), ("data-summary", ""));
                h.Open("section", ("aria-labelledby", "op-alerts")).Element("h2", t.OperatorAlerts, ("id", "op-alerts"));
                if (alerts.Count == 0)
                {
                    h.Element("p", t.NoOperatorAlerts);
                }

                h.Open("ul", ("class", "cards"));
                foreach (ActiveAlert a in alerts)
                {
                    CapDigestInfo? info = a.Digest?.Info(t.Language);
                    h.Open("li").Open("article");
                    h.Element("h3", info?.Headline ?? $"{a.Alert.Rule} ({a.Alert.Subject})");
                    h.Open("p").Element("span", t.Audience(a.Alert.Audience), ("class", "badge")).Text(" ").Text(a.Alert.AlertId).Text(" · ");
                    Time(h, t, a.Alert.RaisedAt);
                    h.Close("p");
                    h.Open("p").Text(t.CancelHow).Close("p");
                    string origin = baseAddress()?.ToString().TrimEnd('/') ?? string.Empty;
                    h.Element("pre", $"curl -X POST -H '{CapFeedServer.OperatorHeader}: <name>' -H 'Authorization: Bearer <token>' \\\n  '{origin}/alerts/{Uri.EscapeDataString(a.Alert.AlertId)}/cancel?reason=<why>'", ("class", "command"), ("tabindex", "0"));
                    h.Close("article").Close("li");
                }

                h.Close("ul").Close("section");

                h.Open("section", ("aria-labelledby", "op-nodes")).Element("h2", t.NodeHealth, ("id", "op-nodes")).Open("ul", ("class", "cards"));
                foreach (var (key, status) in data.Nodes.OrderBy(n => n.Key.Site, StringComparer.Ordinal).ThenBy(n => n.Key.Node, StringComparer.Ordinal))
                {
                    h.Open("li").Open("article").Element("h3", $"{key.Site} / {key.Node}");
                    NodeState(h, t, status);
                    Sensors(h, t, status, operatorView: true);
                    if (status.Outbox is { } o)
                    {
                        h.Element("p", t.Outbox(o.Queued, o.Dropped, o.CorruptRecords));
                    }

                    if (status.Firmware is { } fw)
                    {
                        h.Element("p", $"{t.FirmwareLabel} {fw}");
                    }

                    h.Close("article").Close("li");
                }

                h.Close("ul").Close("section");

                h.Open("section", ("aria-labelledby", "op-rejected")).Element("h2", t.Rejected, ("id", "op-rejected")).Element("p", t.RejectedIntro);
                IReadOnlyList<(string Reason, long Count)> counts = rejections.Snapshot();
                if (counts.Count == 0)
                {
                    h.Element("p", t.NoRejected);
                }
                else
                {
                    h.Open("ul");
                    foreach ((string reason, long count) in counts)
                    {
                        h.Element("li", $"{reason}: {count.ToString("N0", t.Culture)}");
                    }

                    h.Close("ul");
                }

                h.Close("section");
            },
            null);
    }

    public static Page NotFound(PageRequest r) => new(r.Text.NotFound, string.Empty, h => h.Element("h1", r.Text.NotFound),
        h => h.Open("p").Element("a", r.Text.NavWarnings, ("href", r.Link("/"))).Close("p"), null, StatusCodes.Status404NotFound);

    public static Page Denied(PageRequest r, int status) => new(r.Text.OperatorTitle, "operator", h => h.Element("h1", r.Text.OperatorTitle),
        h => h.Element("p", r.Text.OperatorDenied), null, status);

    private void WarningList(HtmlBuilder h, PageRequest r, List<ActiveAlert> alerts, (double Lat, double Lon)? place)
    {
        StatusText t = r.Text;
        int i = 0;
        foreach (ActiveAlert a in alerts)
        {
            CapDigestInfo? info = a.Digest?.Info(t.Language);
            string severity = info?.Severity ?? "Unknown";
            string id = $"warning-{++i}";
            h.Open("article", ("class", $"warning sev-{severity.ToLowerInvariant()}"), ("aria-labelledby", id));
            h.Element("h2", info?.Headline ?? info?.Event ?? $"{a.Alert.Rule} ({a.Alert.Subject})", ("id", id));
            if (a.Digest?.Status == "Exercise")
            {
                h.Element("p", t.Exercise, ("class", "exercise"));
            }

            h.Open("p", ("class", "severity")).Element("span", $"{t.SeverityLabel} {t.Severity(severity)}", ("class", "badge")).Close("p");
            if (info?.Instruction is { } instruction)
            {
                h.Open("p", ("class", "todo")).Element("strong", t.WhatToDo).Text(" ").Text(instruction).Close("p");
            }

            if (info?.Description is { } description)
            {
                h.Element("p", description);
            }

            h.Open("dl", ("class", "facts"));
            IReadOnlyList<CapArea> areas = info?.Areas ?? [];
            if (areas.Count > 0)
            {
                h.Element("dt", t.AreaLabel).Element("dd", string.Join("; ", areas.Select(x => x.AreaDesc)));
            }

            h.Element("dt", t.SinceLabel).Open("dd");
            Time(h, t, a.Alert.RaisedAt);
            h.Text($" ({t.Ago(Now - a.Alert.RaisedAt)})").Close("dd");
            if (info?.Expires is { } expires)
            {
                h.Element("dt", t.UntilLabel).Open("dd");
                Time(h, t, expires);
                h.Close("dd");
            }

            h.Close("dl");
            List<(double Lat, double Lon)> positions = data.Positions(a.Alert.Site, a.Alert.Nodes);
            if (areas.Count > 0 || positions.Count > 0)
            {
                h.Open("figure", ("class", "map-figure"));
                SvgPlot.Map(h, areas, positions, place, t.MapOf(areas.Count > 0 ? areas[0].AreaDesc : data.SiteName(a.Alert.Site, t)));
                h.Close("figure");
            }

            h.Open("p").Element("a", t.CapLink, ("href", CapHref(a.Alert.LastIdentifier))).Close("p");
            h.Close("article");
        }
    }

    private void PlaceForm(HtmlBuilder h, PageRequest r, string? name, string? lat, string? lon, string? radius, string? error)
    {
        StatusText t = r.Text;
        h.Open("section", ("class", "place"), ("aria-labelledby", "place-title"));
        h.Element("h2", t.PlaceTitle, ("id", "place-title"));
        h.Element("p", t.PlaceIntro, ("id", "place-intro"));
        if (error is not null)
        {
            h.Element("p", error, ("class", "error"), ("id", "place-error"));
        }

        h.Open("form", ("method", "get"), ("action", StatusPageExtensions.PathBase + "/place"), ("aria-describedby", error is null ? "place-intro" : "place-intro place-error"));
        h.Void("input", ("type", "hidden"), ("name", "lang"), ("value", t.Language));
        Field(h, "place-q", "q", t.PlaceName, name, "text", MaxPlaceNameLength, "place-list");
        h.Open("datalist", ("id", "place-list"));
        foreach ((string placeName, _, _) in data.Places(t))
        {
            h.Void("option", ("value", placeName));
        }

        h.Close("datalist");
        Field(h, "place-lat", "lat", t.Latitude, lat, "text", 32, null);
        Field(h, "place-lon", "lon", t.Longitude, lon, "text", 32, null);
        Field(h, "place-radius", "radius", t.Radius, radius ?? data.Options.DefaultRadiusKm.ToString(t.Culture), "text", 32, null);
        h.Open("p", ("class", "actions")).Element("button", t.PlaceSubmit, ("type", "submit"));
        h.Text(" ").Element("button", t.UseLocation, ("type", "button"), ("data-geolocate", ""), ("data-failed", t.LocationFailed), ("hidden", ""));
        h.Close("p");
        h.Element("p", t.LocationHint, ("class", "hint"), ("data-geolocate-hint", ""), ("hidden", ""));
        h.Close("form").Close("section");
    }

    private static void Field(HtmlBuilder h, string id, string name, string label, string? value, string type, int max, string? list)
    {
        h.Open("p", ("class", "field")).Element("label", label, ("for", id));
        h.Void("input", ("type", type), ("id", id), ("name", name), ("value", value), ("maxlength", max.ToString(CultureInfo.InvariantCulture)),
            ("list", list), ("inputmode", name is "lat" or "lon" or "radius" ? "decimal" : null), ("autocomplete", "off"));
        h.Close("p");
    }

    private void NodeState(HtmlBuilder h, StatusText t, NodeStatusMessage status)
    {
        h.Open("p", ("class", "state")).Element("span", $"{t.StateLabel} {t.State(status.State)}", ("class", "badge"))
            .Text($" {t.For(Now - status.Time)}").Close("p");
    }

    private static void Sensors(HtmlBuilder h, StatusText t, NodeStatusMessage status, bool operatorView)
    {
        if (status.Sensors.Count == 0)
        {
            return;
        }

        h.Open("p", ("class", "sensors")).Text(t.SensorsLabel + " ");
        bool first = true;
        foreach (SensorStatus s in status.Sensors)
        {
            h.Text(first ? string.Empty : "; ").Text($"{s.Id} ({s.Type}): ").Element("span", t.Health(s.Health), ("class", $"health-{s.Health.ToString().ToLowerInvariant()}"));
            if (operatorView && s.Health != SensorHealth.Ok)
            {
                h.Text($", {t.Failures(s.ConsecutiveFailures)}");
                if (s.LastError is { } error)
                {
                    h.Text($", {t.LastError} {error}");
                }
            }

            first = false;
        }

        h.Close("p");
    }

    private void Values(HtmlBuilder h, StatusText t, List<LatestValue> values)
    {
        if (values.Count == 0)
        {
            h.Element("p", t.NoValues);
            return;
        }

        h.Open("ul", ("class", "values"));
        foreach (LatestValue v in values.OrderBy(v => v.Quantity, StringComparer.Ordinal).ThenBy(v => v.Sensor, StringComparer.Ordinal))
        {
            h.Open("li").Text($"{t.Quantity(v.Quantity)}: ").Element("strong", t.Value(v.Mean, v.Unit)).Text($", {t.Ago(Now - v.End)}");
            Quality(h, t, v.Flags);
            h.Close("li");
        }

        h.Close("ul");
    }

    private static void Quality(HtmlBuilder h, StatusText t, QualityFlags flags)
    {
        if (flags == QualityFlags.None)
        {
            return;
        }

        string why = string.Join(", ", Enum.GetValues<QualityFlags>().Where(f => f != QualityFlags.None && flags.HasFlag(f)).Select(t.Flag));
        h.Text(" ").Element("span", $"– {t.Doubtful}: {why}", ("class", "doubt"));
    }

    private void Channel(HtmlBuilder h, PageRequest r, ChannelSeries s, DateTimeOffset from, DateTimeOffset to, int index)
    {
        StatusText t = r.Text;
        string quantity = t.Quantity(s.Channel.Quantity);
        string id = $"ch-{index}";
        h.Open("section", ("class", "channel"), ("aria-labelledby", id + "-title"));
        h.Element("h2", $"{quantity} ({s.Channel.Sensor})", ("id", id + "-title"));
        if (s.Points.Count == 0)
        {
            h.Element("p", t.NoHistory);
        }
        else
        {
            double min = s.Points.Min(p => p.Min), max = s.Points.Max(p => p.Max);
            LatestValue? latest = s.Latest;
            string last = latest is null ? t.Value(s.Points[^1].Mean, s.Channel.Unit) : t.Value(latest.Mean, latest.Unit);
            string age = t.Ago(Now - (latest?.End ?? s.Points[^1].End));
            h.Open("p", ("id", id + "-summary")).Text(t.Summary(t.Value(min, s.Channel.Unit), t.Value(max, s.Channel.Unit), last, age, t.Trend(Trend(s.Points, max - min))));
            if (latest is not null)
            {
                Quality(h, t, latest.Flags);
            }

            h.Close("p");
            h.Open("figure", ("class", "plot-figure"));
            SvgPlot.Trend(h, s.Points, from, to, s.Channel.Unit, t, id + "-summary");
            if (s.Points.Any(p => p.Doubtful))
            {
                h.Element("figcaption", t.DoubtfulLegend(s.Points.Count(p => p.Doubtful)));
            }

            h.Close("figure");
            Table(h, t, s, from, quantity);
        }

        string datastream = StaCatalog.DatastreamId(s.Channel);
        string root = baseAddress()?.ToString().TrimEnd('/') ?? string.Empty;
        h.Open("p").Element("a", t.DatastreamLink(quantity), ("href", $"{root}/sta/{StaSchema.Version}/Datastreams('{Uri.EscapeDataString(datastream)}')")).Close("p");
        h.Close("section");
    }

    private static void Table(HtmlBuilder h, StatusText t, ChannelSeries s, DateTimeOffset from, string quantity)
    {
        h.Open("details").Element("summary", t.ShowTable).Open("div", ("class", "table-wrap"));
        h.Open("table").Element("caption", t.TableCaption(quantity));
        h.Open("thead").Open("tr").Element("th", t.ColumnTime, ("scope", "col")).Element("th", t.ColumnMean, ("scope", "col"))
            .Element("th", t.ColumnRange, ("scope", "col")).Element("th", t.ColumnQuality, ("scope", "col")).Close("tr").Close("thead");
        h.Open("tbody");
        foreach (var hour in s.Points.GroupBy(p => (int)((p.Start - from).TotalHours)).OrderBy(g => g.Key))
        {
            var points = hour.ToList();
            double mean = points.Average(p => p.Mean);
            h.Open("tr").Element("th", t.Hour(from.AddHours(hour.Key)), ("scope", "row"))
                .Element("td", t.Value(mean, s.Channel.Unit))
                .Element("td", $"{t.Value(points.Min(p => p.Min), s.Channel.Unit)} – {t.Value(points.Max(p => p.Max), s.Channel.Unit)}")
                .Element("td", points.Any(p => p.Doubtful) ? t.Doubtful : t.Good).Close("tr");
        }

        h.Close("tbody").Close("table").Close("div").Close("details");
    }

    /// <summary>Direction of the last quarter of the day against the one before, ignoring moves under 5 % of the day's range.</summary>
    private static int Trend(IReadOnlyList<PlotPoint> points, double range)
    {
        if (points.Count < 4)
        {
            return 0;
        }

        int q = Math.Max(1, points.Count / 4);
        double recent = points.Skip(points.Count - q).Average(p => p.Mean), before = points.Skip(points.Count - (2 * q)).Take(q).Average(p => p.Mean);
        double change = recent - before;
        return Math.Abs(change) < Math.Max(1e-9, 0.05 * range) ? 0 : Math.Sign(change);
    }

    private static void Time(HtmlBuilder h, StatusText t, DateTimeOffset at) =>
        h.Element("time", t.Time(at), ("datetime", at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)));

    private static string CapHref(string identifier) => $"/cap/{Uri.EscapeDataString(identifier)}.xml";
}
