using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;
using SensorKit.Gateway.Alerts.Cap;

namespace SensorKit.Gateway.Alerts.Feed;

/// <summary>
/// A point and a radius from a request (<c>lat</c>, <c>lon</c>, <c>radius</c> in km): "warnings for my place", and
/// the area-filtered feed <c>/cap/feed.atom?lat=…&amp;lon=…&amp;radius=…</c>.
/// </summary>
public sealed record PlaceQuery(double Lat, double Lon, double RadiusKm)
{
    public const double MinRadiusKm = 0.1;

    public const double MaxRadiusKm = 200;

    /// <summary>The feed's radius when a request gives a point only.</summary>
    public const double DefaultFeedRadiusKm = 5;

    private const int MaxValueLength = 32;

    /// <summary>
    /// The place a query names; null without <c>lat</c> and <c>lon</c>. <paramref name="problem"/> says, in English,
    /// what is wrong: a value given twice, too long, not a finite number or out of range.
    /// </summary>
    public static PlaceQuery? Parse(IQueryCollection query, double defaultRadiusKm, out string? problem)
    {
        problem = null;
        string? lat = One(query, "lat", ref problem), lon = One(query, "lon", ref problem), radius = One(query, "radius", ref problem);
        if (problem is not null)
        {
            return null;
        }

        if (lat is null && lon is null)
        {
            problem = radius is null ? null : "radius needs lat and lon";
            return null;
        }

        if (Number(lat, "lat", -90, 90, ref problem) is not { } la
            || Number(lon, "lon", -180, 180, ref problem) is not { } lo
            || (radius is null ? defaultRadiusKm : Number(radius, "radius", MinRadiusKm, MaxRadiusKm, ref problem)) is not { } r)
        {
            return null;
        }

        return new PlaceQuery(la, lo, r);
    }

    private static string? One(IQueryCollection query, string name, ref string? problem)
    {
        if (!query.TryGetValue(name, out Microsoft.Extensions.Primitives.StringValues values) || values.Count == 0 || string.IsNullOrWhiteSpace(values[0]))
        {
            return null;
        }

        if (values.Count > 1)
        {
            problem ??= $"{name} is given more than once";
            return null;
        }

        return values[0]!.Trim();
    }

    internal static double? Number(string? text, string name, double min, double max, ref string? problem)
    {
        if (text is null)
        {
            problem ??= $"{name} is missing";
            return null;
        }

        // A decimal comma is what German visitors type.
        if (text.Length > MaxValueLength
            || !double.TryParse(text.Replace(',', '.'), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)
            || !double.IsFinite(value) || value < min || value > max)
        {
            problem ??= string.Create(CultureInfo.InvariantCulture, $"{name} must be a number from {min} to {max}");
            return null;
        }

        return value;
    }

    /// <summary>Whether this circle touches <paramref name="area"/>: overlaps one of its circles or polygons.</summary>
    public bool Touches(CapArea area) =>
        area.Circles.Any(c => DistanceKm(Lat, Lon, c.Lat, c.Lon) <= c.RadiusKm + RadiusKm)
        || area.Polygons.Any(p => Inside(p) || DistanceToRingKm(p) <= RadiusKm);

    /// <summary>Great-circle distance (haversine, mean Earth radius).</summary>
    public static double DistanceKm(double lat1, double lon1, double lat2, double lon2)
    {
        const double EarthKm = 6371.0088;
        double dLat = double.DegreesToRadians(lat2 - lat1), dLon = double.DegreesToRadians(lon2 - lon1);
        double h = Math.Pow(Math.Sin(dLat / 2), 2) + (Math.Cos(double.DegreesToRadians(lat1)) * Math.Cos(double.DegreesToRadians(lat2)) * Math.Pow(Math.Sin(dLon / 2), 2));
        return 2 * EarthKm * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }

    private bool Inside(IReadOnlyList<(double Lat, double Lon)> ring)
    {
        bool inside = false;
        for (int i = 0, j = ring.Count - 1; i < ring.Count; j = i++)
        {
            (double yi, double xi) = ring[i];
            (double yj, double xj) = ring[j];
            if ((yi > Lat) != (yj > Lat) && Lon < ((xj - xi) * (Lat - yi) / (yj - yi)) + xi)
            {
                inside = !inside;
            }
        }

        return inside;
    }

    // Edges in a plane around the query point: areas are a few kilometres, where that is exact enough.
    private double DistanceToRingKm(IReadOnlyList<(double Lat, double Lon)> ring)
    {
        double kx = 111.320 * Math.Cos(double.DegreesToRadians(Lat)), ky = 110.574, best = double.PositiveInfinity;
        for (int i = 1; i < ring.Count; i++)
        {
            double ax = (ring[i - 1].Lon - Lon) * kx, ay = (ring[i - 1].Lat - Lat) * ky;
            double bx = (ring[i].Lon - Lon) * kx, by = (ring[i].Lat - Lat) * ky;
            double dx = bx - ax, dy = by - ay, length = (dx * dx) + (dy * dy);
            double t = length == 0 ? 0 : Math.Clamp(-((ax * dx) + (ay * dy)) / length, 0, 1);
            best = Math.Min(best, Math.Sqrt(Math.Pow(ax + (t * dx), 2) + Math.Pow(ay + (t * dy), 2)));
        }

        return best;
    }
}

/// <summary>One info block of a stored CAP message read back: its texts and areas.</summary>
public sealed record CapDigestInfo(
    string Language,
    string Event,
    string Severity,
    string Urgency,
    string Certainty,
    string? Headline,
    string? Description,
    string? Instruction,
    DateTimeOffset? Onset,
    DateTimeOffset? Expires,
    IReadOnlyList<CapArea> Areas);

/// <summary>
/// What the feed's area filter and the status page read back from a CAP document the gateway stored: scope,
/// message type and the info blocks with their areas. The document is the gateway's own, but it is parsed as
/// untrusted XML anyway (no DTD, no resolver).
/// </summary>
public sealed record CapDigest(string Identifier, string MsgType, string Scope, string Status, DateTimeOffset Sent, IReadOnlyList<CapDigestInfo> Infos)
{
    private const string Ns = "urn:oasis:names:tc:emergency:cap:1.2";

    public bool IsPublic => Scope == "Public";

    /// <summary>The info in <paramref name="language"/> ("de", "en"), else the first.</summary>
    public CapDigestInfo? Info(string language) =>
        Infos.FirstOrDefault(i => i.Language.StartsWith(language, StringComparison.OrdinalIgnoreCase)) ?? (Infos.Count > 0 ? Infos[0] : null);

    public IEnumerable<CapArea> Areas => Infos.Count == 0 ? [] : Infos[0].Areas;

    /// <summary>The digest of <paramref name="cap"/>; null when it is not a CAP 1.2 alert.</summary>
    public static CapDigest? Read(byte[] cap)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = 4_000_000 };
        XElement root;
        try
        {
            using var stream = new MemoryStream(cap, writable: false);
            using var reader = XmlReader.Create(stream, settings);
            root = XElement.Load(reader);
        }
        catch (XmlException)
        {
            return null;
        }

        XNamespace ns = Ns;
        if (root.Name != ns + "alert")
        {
            return null;
        }

        string Text(XElement e, string name) => e.Element(ns + name)?.Value.Trim() ?? string.Empty;
        string? Optional(XElement e, string name) => e.Element(ns + name)?.Value.Trim() is { Length: > 0 } v ? v : null;
        DateTimeOffset? Time(XElement e, string name) =>
            DateTimeOffset.TryParse(Optional(e, name), CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTimeOffset t) ? t : null;

        var infos = root.Elements(ns + "info").Select(info => new CapDigestInfo(
            Text(info, "language") is { Length: > 0 } language ? language : "en-US",
            Text(info, "event"),
            Text(info, "severity"),
            Text(info, "urgency"),
            Text(info, "certainty"),
            Optional(info, "headline"),
            Optional(info, "description"),
            Optional(info, "instruction"),
            Time(info, "onset"),
            Time(info, "expires"),
            [.. info.Elements(ns + "area").Select(a => ReadArea(a, ns)).OfType<CapArea>()])).ToList();
        return new CapDigest(Text(root, "identifier"), Text(root, "msgType"), Text(root, "scope"), Text(root, "status"), Time(root, "sent") ?? DateTimeOffset.MinValue, infos);
    }

    private static CapArea? ReadArea(XElement area, XNamespace ns)
    {
        var polygons = new List<IReadOnlyList<(double, double)>>();
        foreach (XElement polygon in area.Elements(ns + "polygon"))
        {
            var ring = polygon.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Pair).ToList();
            if (ring.Count >= 4 && ring.All(p => p is not null))
            {
                polygons.Add([.. ring.Select(p => p!.Value)]);
            }
        }

        var circles = new List<CapCircle>();
        foreach (XElement circle in area.Elements(ns + "circle"))
        {
            string[] parts = circle.Value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && Pair(parts[0]) is { } centre
                && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double r) && double.IsFinite(r) && r >= 0)
            {
                circles.Add(new CapCircle(centre.Lat, centre.Lon, r));
            }
        }

        string description = area.Element(ns + "areaDesc")?.Value.Trim() ?? string.Empty;
        return description.Length == 0 ? null : new CapArea { AreaDesc = description, Polygons = polygons, Circles = circles };
    }

    private static (double Lat, double Lon)? Pair(string text)
    {
        string[] parts = text.Split(',');
        return parts.Length == 2
            && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double lat) && lat is >= -90 and <= 90
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double lon) && lon is >= -180 and <= 180
            ? (lat, lon)
            : null;
    }
}
