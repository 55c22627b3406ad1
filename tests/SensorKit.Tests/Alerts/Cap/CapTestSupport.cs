using System.Globalization;
using System.Xml.Linq;
using SensorKit.Gateway.Alerts.Cap;

namespace SensorKit.Tests.Alerts.Cap;

internal static class CapTestSupport
{
    public static readonly XNamespace CapNs = CapWriter.Namespace;

    /// <summary>The folder holding SensorKit.sln.</summary>
    public static string RepoRoot() => SensorKit.Tests.Support.RepoPaths.Root;

    /// <summary>Parses a CAP polygon ("lat,lon lat,lon ...") as written.</summary>
    public static List<(double Lat, double Lon)> ParsePairs(string polygon) =>
        polygon.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split(','))
            .Select(p => (double.Parse(p[0], CultureInfo.InvariantCulture), double.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToList();

    /// <summary>Even-odd ray casting in (lon, lat); fine for areas of a few kilometres away from the antimeridian.</summary>
    public static bool Contains(IReadOnlyList<(double Lat, double Lon)> ring, (double Lat, double Lon) point)
    {
        var inside = false;
        for (int i = 0, j = ring.Count - 1; i < ring.Count; j = i++)
        {
            var (latI, lonI) = ring[i];
            var (latJ, lonJ) = ring[j];
            if ((latI > point.Lat) != (latJ > point.Lat)
                && point.Lon < ((lonJ - lonI) * (point.Lat - latI) / (latJ - latI)) + lonI)
            {
                inside = !inside;
            }
        }

        return inside;
    }

    /// <summary>The point <paramref name="km"/> away from <paramref name="origin"/> towards <paramref name="bearingDeg"/>.</summary>
    public static (double Lat, double Lon) Offset((double Lat, double Lon) origin, double km, double bearingDeg)
    {
        var dLat = km / 6371.0088 * (180 / Math.PI);
        var bearing = bearingDeg * (Math.PI / 180);
        return (origin.Lat + (dLat * Math.Cos(bearing)), origin.Lon + (dLat * Math.Sin(bearing) / Math.Cos(origin.Lat * (Math.PI / 180))));
    }
}
