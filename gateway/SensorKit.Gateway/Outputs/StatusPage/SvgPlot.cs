using System.Globalization;
using SensorKit.Gateway.Alerts.Cap;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>A bucket of a channel's history: mean of the window means, lowest and highest value, doubtful when any window was flagged.</summary>
internal readonly record struct PlotPoint(DateTimeOffset Start, DateTimeOffset End, double Mean, double Min, double Max, bool Doubtful);

/// <summary>
/// Inline SVG drawn on the server: a channel's trend and an alert's area. Colours come from the stylesheet (classes),
/// so light and dark schemes both hold their contrast; every figure has a text alternative beside it.
/// </summary>
internal static class SvgPlot
{
    private const double Width = 480, Height = 200, Left = 56, Right = 8, Top = 10, Bottom = 24;

    private static string N(double v) => Math.Round(v, 1).ToString(CultureInfo.InvariantCulture);

    /// <summary>The trend of <paramref name="points"/> over [<paramref name="from"/>, <paramref name="to"/>), labelled by the element <paramref name="labelledBy"/>.</summary>
    public static void Trend(HtmlBuilder html, IReadOnlyList<PlotPoint> points, DateTimeOffset from, DateTimeOffset to, string unit, StatusText text, string labelledBy)
    {
        double low = points.Min(p => p.Min), high = points.Max(p => p.Max);
        if (high - low < 1e-9)
        {
            (low, high) = (low - 1, high + 1);
        }

        double span = (to - from).TotalMilliseconds;
        double X(DateTimeOffset t) => Left + ((Width - Left - Right) * (t - from).TotalMilliseconds / span);
        double Y(double v) => Top + ((Height - Top - Bottom) * (high - v) / (high - low));

        html.Open("svg", ("class", "plot"), ("viewBox", $"0 0 {N(Width)} {N(Height)}"), ("role", "img"), ("aria-labelledby", labelledBy), ("focusable", "false"), ("xmlns", "http://www.w3.org/2000/svg"));
        foreach (double v in new[] { high, (high + low) / 2, low })
        {
            html.Void("line", ("class", "grid"), ("x1", N(Left)), ("x2", N(Width - Right)), ("y1", N(Y(v))), ("y2", N(Y(v)))).Close("line");
            html.Element("text", text.Value(v, unit), ("class", "axis"), ("x", N(Left - 4)), ("y", N(Y(v) + 4)), ("text-anchor", "end"));
        }

        foreach ((DateTimeOffset t, string anchor) in new[] { (from, "start"), (from + ((to - from) / 2), "middle"), (to, "end") })
        {
            html.Element("text", text.Hour(t), ("class", "axis"), ("x", N(X(t))), ("y", N(Height - 6)), ("text-anchor", anchor));
        }

        string band = string.Join(' ', points.Select(p => $"{N(X(p.End))},{N(Y(p.Max))}").Concat(points.Reverse().Select(p => $"{N(X(p.End))},{N(Y(p.Min))}")));
        html.Void("polygon", ("class", "band"), ("points", band)).Close("polygon");
        html.Void("polyline", ("class", "line"), ("points", string.Join(' ', points.Select(p => $"{N(X(p.End))},{N(Y(p.Mean))}")))).Close("polyline");
        foreach (PlotPoint p in points.Where(p => p.Doubtful))
        {
            // A hollow diamond, so doubtful values differ by shape as well as colour.
            double x = X(p.End), y = Y(p.Mean);
            html.Void("polygon", ("class", "doubt"), ("points", $"{N(x)},{N(y - 5)} {N(x + 5)},{N(y)} {N(x)},{N(y + 5)} {N(x - 5)},{N(y)}")).Close("polygon");
        }

        html.Close("svg");
    }

    /// <summary>A small map of <paramref name="areas"/> with the sensor nodes behind them and, when given, the visitor's place; no tiles.</summary>
    public static void Map(HtmlBuilder html, IReadOnlyList<CapArea> areas, IReadOnlyList<(double Lat, double Lon)> nodes, (double Lat, double Lon)? place, string label)
    {
        const double W = 200, H = 140, Pad = 10;
        var all = new List<(double Lat, double Lon)>(nodes);
        foreach (CapArea a in areas)
        {
            all.AddRange(a.Polygons.SelectMany(p => p));
            foreach (CapCircle c in a.Circles)
            {
                double dLat = c.RadiusKm / 110.574, dLon = c.RadiusKm / (111.320 * Math.Max(0.01, Math.Cos(double.DegreesToRadians(c.Lat))));
                all.Add((c.Lat - dLat, c.Lon - dLon));
                all.Add((c.Lat + dLat, c.Lon + dLon));
            }
        }

        if (place is { } pl)
        {
            all.Add(pl);
        }

        if (all.Count == 0)
        {
            return;
        }

        double minLat = all.Min(p => p.Lat), maxLat = all.Max(p => p.Lat), minLon = all.Min(p => p.Lon), maxLon = all.Max(p => p.Lon);
        double k = Math.Cos(double.DegreesToRadians((minLat + maxLat) / 2));
        double spanX = Math.Max((maxLon - minLon) * k, 1e-4), spanY = Math.Max(maxLat - minLat, 1e-4);
        double scale = Math.Min((W - (2 * Pad)) / spanX, (H - (2 * Pad)) / spanY);
        double cx = (minLon + maxLon) / 2, cy = (minLat + maxLat) / 2;
        double X(double lon) => (W / 2) + ((lon - cx) * k * scale);
        double Y(double lat) => (H / 2) - ((lat - cy) * scale);

        html.Open("svg", ("class", "map"), ("viewBox", $"0 0 {N(W)} {N(H)}"), ("role", "img"), ("aria-label", label), ("focusable", "false"), ("xmlns", "http://www.w3.org/2000/svg"));
        html.Void("rect", ("class", "map-ground"), ("x", "0"), ("y", "0"), ("width", N(W)), ("height", N(H))).Close("rect");
        foreach (CapArea a in areas)
        {
            foreach (IReadOnlyList<(double Lat, double Lon)> ring in a.Polygons)
            {
                html.Void("polygon", ("class", "area"), ("points", string.Join(' ', ring.Select(p => $"{N(X(p.Lon))},{N(Y(p.Lat))}")))).Close("polygon");
            }

            foreach (CapCircle c in a.Circles)
            {
                html.Void("circle", ("class", "area"), ("cx", N(X(c.Lon))), ("cy", N(Y(c.Lat))), ("r", N(Math.Max(2, c.RadiusKm / 110.574 * scale)))).Close("circle");
            }
        }

        foreach ((double lat, double lon) in nodes)
        {
            html.Void("rect", ("class", "node"), ("x", N(X(lon) - 3)), ("y", N(Y(lat) - 3)), ("width", "6"), ("height", "6")).Close("rect");
        }

        if (place is { } p)
        {
            html.Void("path", ("class", "place"), ("d", $"M{N(X(p.Lon) - 6)},{N(Y(p.Lat))}h12M{N(X(p.Lon))},{N(Y(p.Lat) - 6)}v12")).Close("path");
        }

        html.Close("svg");
    }
}
