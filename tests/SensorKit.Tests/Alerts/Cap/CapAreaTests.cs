using System.Xml.Linq;
using SensorKit.Gateway.Alerts.Cap;
using Xunit;
using static SensorKit.Tests.Alerts.Cap.CapTestSupport;

namespace SensorKit.Tests.Alerts.Cap;

public class CapAreaTests
{
    public static TheoryData<double[]> PointSets => new()
    {
        // Three nodes along the Mosel in Cochem.
        new[] { 50.14385, 7.16921, 50.14702, 7.16805, 50.15017, 7.16703 },
        // Two nodes: the hull of two rings.
        new[] { 51.05089, 13.73832, 51.05391, 13.74502 },
        // Collinear nodes on a meridian, and a duplicate.
        new[] { 48.0, 11.0, 48.01, 11.0, 48.02, 11.0, 48.02, 11.0 },
        // A cluster straddling Greenwich and the equator (sign handling).
        new[] { 0.001, -0.002, -0.003, 0.001, 0.002, 0.003, -0.001, -0.001 },
        // A node inside the hull of the others.
        new[] { 53.55, 9.99, 53.56, 10.01, 53.54, 10.02, 53.552, 10.005 },
    };

    [Fact]
    public void One_point_gives_one_circle()
    {
        var area = CapArea.FromPoints("Messstelle", [(50.14702, 7.16805)], 0.25);

        Assert.Empty(area.Polygons);
        Assert.Equal(new CapCircle(50.14702, 7.16805, 0.25), Assert.Single(area.Circles));
    }

    [Theory]
    [MemberData(nameof(PointSets))]
    public void Several_points_give_one_closed_polygon_containing_every_point(double[] flat)
    {
        var points = Pairs(flat);
        const double radiusKm = 0.3;

        var written = WrittenPolygon(CapArea.FromPoints("Gebiet", points, radiusKm));

        Assert.True(written.Count >= 4, $"only {written.Count} pairs");
        Assert.Equal(written[0], written[^1]);
        foreach (var point in points)
        {
            Assert.True(Contains(written, point), $"{point} is outside the polygon");

            // The buffer is at least the radius: points just inside it, in every direction, are covered too.
            for (var bearing = 0; bearing < 360; bearing += 15)
            {
                var near = Offset(point, 0.95 * radiusKm, bearing);
                Assert.True(Contains(written, near), $"{near}, 0.95 r from {point} at {bearing}°, is outside the polygon");
            }
        }
    }

    [Theory]
    [MemberData(nameof(PointSets))]
    public void Polygon_vertices_lie_just_outside_the_radius_of_a_point(double[] flat)
    {
        var points = Pairs(flat);
        const double radiusKm = 0.3;

        var written = WrittenPolygon(CapArea.FromPoints("Gebiet", points, radiusKm));

        // The polygon is the hull of its vertices; each vertex sits on a 12-gon circumscribing the radius, at
        // r / cos 15° = 1.035 r from its point. So the area never reaches further than that beyond the sites.
        foreach (var vertex in written)
        {
            var nearest = points.Min(p => Distance(vertex, p));
            Assert.InRange(nearest, 0.99 * radiusKm, 1.04 * radiusKm);
        }
    }

    [Fact]
    public void Polygon_validates_against_the_schema()
    {
        var info = CapExamples.FloodAlert().Infos[0];
        var alert = CapExamples.FloodAlert() with
        {
            Infos = [info with { Area = CapArea.FromPoints("Dresden, Elbufer", [(51.05089, 13.73832), (51.05391, 13.74502)], 0.5) }],
        };

        Assert.Empty(CapSchema.Validate(CapWriter.ToXml(alert)));
    }

    [Fact]
    public void Identical_points_give_the_ring_around_that_point()
    {
        var area = CapArea.FromPoints("Gebiet", [(50.0, 8.0), (50.0, 8.0)], 0.3);

        var polygon = Assert.Single(area.Polygons);
        Assert.Equal(13, polygon.Count);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Non_positive_radius_throws(double radiusKm)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CapArea.FromPoints("Gebiet", [(50.0, 8.0), (50.1, 8.1)], radiusKm));
    }

    [Fact]
    public void Out_of_range_point_throws()
    {
        Assert.Throws<ArgumentException>(() => CapArea.FromPoints("Gebiet", [(91.0, 8.0)], 0.3));
    }

    [Fact]
    public void Area_across_the_antimeridian_throws()
    {
        Assert.Throws<ArgumentException>(() => CapArea.FromPoints("Fiji", [(-17.8, 179.99), (-17.8, -179.99)], 0.3));
    }

    [Fact]
    public void No_points_throws()
    {
        Assert.Throws<ArgumentException>(() => CapArea.FromPoints("Gebiet", [], 0.3));
    }

    private static List<(double Lat, double Lon)> Pairs(double[] flat) =>
        Enumerable.Range(0, flat.Length / 2).Select(i => (flat[2 * i], flat[(2 * i) + 1])).ToList();

    // Checks the polygon as a receiver sees it: written, then parsed back from the XML.
    private static List<(double Lat, double Lon)> WrittenPolygon(CapArea area)
    {
        var info = CapExamples.FloodAlert().Infos[0] with { Area = area };
        var xml = CapWriter.ToXml(CapExamples.FloodAlert() with { Infos = [info] });
        return ParsePairs(Assert.Single(XDocument.Parse(xml).Descendants(CapNs + "polygon")).Value);
    }

    private static double Distance((double Lat, double Lon) a, (double Lat, double Lon) b)
    {
        var kmPerDegLat = 6371.0088 * Math.PI / 180;
        var dy = (a.Lat - b.Lat) * kmPerDegLat;
        var dx = (a.Lon - b.Lon) * kmPerDegLat * Math.Cos(a.Lat * Math.PI / 180);
        return Math.Sqrt((dx * dx) + (dy * dy));
    }
}
