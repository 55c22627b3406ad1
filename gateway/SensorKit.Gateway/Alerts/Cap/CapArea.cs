namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>A CAP <c>circle</c>: WGS 84 centre and radius in kilometres (CAP 1.2 §3.2.4).</summary>
public readonly record struct CapCircle(double Lat, double Lon, double RadiusKm);

/// <summary>
/// The affected area of one info block (CAP 1.2 §3.2.4). Coordinates are WGS 84 degrees; the writer prints
/// them with <see cref="CoordinateDecimals"/> decimals (about one metre).
/// </summary>
public sealed record CapArea
{
    /// <summary>Decimals written per coordinate: 1e-5 degrees is about 1.1 m, finer than any site position.</summary>
    public const int CoordinateDecimals = 5;

    // More vertices buy almost nothing: the hull of a few 12-gons is already within 3.5 % of the true buffer.
    private const int RingVertices = 12;
    private const double MeanEarthRadiusKm = 6371.0088;

    public required string AreaDesc { get; init; }

    /// <summary>Each polygon is closed (first pair == last pair) with at least 4 pairs (§3.2.4).</summary>
    public IReadOnlyList<IReadOnlyList<(double Lat, double Lon)>> Polygons { get; init; } = [];

    public IReadOnlyList<CapCircle> Circles { get; init; } = [];

    /// <summary>Feet above mean sea level, as CAP defines it (§3.2.4 <c>altitude</c>).</summary>
    public double? Altitude { get; init; }

    /// <summary>Feet above mean sea level; only valid together with <see cref="Altitude"/> (§3.2.4).</summary>
    public double? Ceiling { get; init; }

    /// <summary>
    /// The area covering <paramref name="points"/> (sensor sites) and everything within
    /// <paramref name="radiusKm"/> of them: one point gives a circle; several points give one polygon, the convex
    /// hull of a 12-gon around each point. The 12-gons circumscribe the radius, so the buffer is never thinner
    /// than <paramref name="radiusKm"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No points, a coordinate out of range, or an area that would cross a pole
    /// or the antimeridian (a CAP polygon cannot express either without splitting).</exception>
    public static CapArea FromPoints(string areaDesc, IReadOnlyList<(double Lat, double Lon)> points, double radiusKm)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(areaDesc);
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0)
        {
            throw new ArgumentException("At least one point is required.", nameof(points));
        }

        if (!double.IsFinite(radiusKm) || radiusKm <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(radiusKm), radiusKm, "The radius must be a positive number of kilometres.");
        }

        foreach (var point in points)
        {
            if (!IsValid(point))
            {
                throw new ArgumentException($"Point ({point.Lat}, {point.Lon}) is not a WGS 84 latitude/longitude.", nameof(points));
            }
        }

        if (points.Count == 1)
        {
            var (lat, lon) = points[0];
            return new CapArea { AreaDesc = areaDesc, Circles = [new CapCircle(Round(lat), Round(lon), radiusKm)] };
        }

        // Local equirectangular offsets: exact enough for rings of a few kilometres.
        var vertexKm = radiusKm / Math.Cos(Math.PI / RingVertices);
        var dLat = vertexKm / MeanEarthRadiusKm * (180 / Math.PI);
        var ring = new List<(double Lat, double Lon)>(points.Count * RingVertices);
        foreach (var (lat, lon) in points)
        {
            var dLon = dLat / Math.Cos(lat * (Math.PI / 180));
            for (var k = 0; k < RingVertices; k++)
            {
                var bearing = 2 * Math.PI * k / RingVertices;
                var vertex = (Round(lat + (dLat * Math.Cos(bearing))), Round(lon + (dLon * Math.Sin(bearing))));
                if (!IsValid(vertex))
                {
                    throw new ArgumentException("The area would cross a pole or the antimeridian.", nameof(points));
                }

                ring.Add(vertex);
            }
        }

        if (ring.Max(p => p.Lon) - ring.Min(p => p.Lon) > 180)
        {
            throw new ArgumentException("The points span more than 180° of longitude; the area would cross the antimeridian.", nameof(points));
        }

        var hull = ConvexHull(ring);
        if (hull.Count < 3)
        {
            throw new ArgumentOutOfRangeException(nameof(radiusKm), radiusKm, "The radius is too small to form a polygon at the written precision.");
        }

        hull.Add(hull[0]); // CAP 1.2 §3.2.4: the first and last pairs MUST be the same.
        return new CapArea { AreaDesc = areaDesc, Polygons = [hull] };
    }

    private static bool IsValid((double Lat, double Lon) p) =>
        double.IsFinite(p.Lat) && double.IsFinite(p.Lon) && Math.Abs(p.Lat) <= 90 && Math.Abs(p.Lon) <= 180;

    // Rounded here rather than only when printing, so the polygon in the model is exactly the one written.
    private static double Round(double degrees) => Math.Round(degrees, CoordinateDecimals, MidpointRounding.AwayFromZero);

    /// <summary>Andrew's monotone chain on (lon, lat); drops duplicate and collinear points. Result is open.</summary>
    private static List<(double Lat, double Lon)> ConvexHull(List<(double Lat, double Lon)> points)
    {
        var sorted = points.Distinct().OrderBy(p => p.Lon).ThenBy(p => p.Lat).ToList();
        var hull = new List<(double Lat, double Lon)>(sorted.Count + 1);

        // Lower chain left to right, then upper chain right to left; each pops points that turn clockwise.
        for (var pass = 0; pass < 2; pass++)
        {
            var start = hull.Count;
            for (var i = 0; i < sorted.Count; i++)
            {
                var p = sorted[pass == 0 ? i : sorted.Count - 1 - i];
                while (hull.Count >= start + 2 && Cross(hull[^2], hull[^1], p) <= 0)
                {
                    hull.RemoveAt(hull.Count - 1);
                }

                hull.Add(p);
            }

            hull.RemoveAt(hull.Count - 1); // The last point of each chain starts the other one.
        }

        return hull;
    }

    private static double Cross((double Lat, double Lon) o, (double Lat, double Lon) a, (double Lat, double Lon) b) =>
        ((a.Lon - o.Lon) * (b.Lat - o.Lat)) - ((a.Lat - o.Lat) * (b.Lon - o.Lon));
}
