using System.Text;
using SensorKit.Protocol;
using SensorKit.Tests.Gateway.Alerting;
using SensorKit.Tests.Support;
using static SensorKit.Tests.Alerts.Cap.CapTestSupport;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;

namespace SensorKit.Tests.Alerts.Cap;

/// <summary>
/// docs/examples/gateway-storm-*.xml are what the gateway itself publishes for a storm seen by three nodes, with
/// the storm pack and a German time zone, signed with the example key: byte for byte, regenerated with
/// SENSORKIT_REGENERATE_GOLDEN=1.
/// </summary>
public class GatewayCapExampleTests
{
    [Fact]
    public void The_gateway_storm_examples_match_the_checked_in_files()
    {
        using AlertingHarness h = Start("{}", new()
        {
            ["Rules:Packs:1"] = "storm",
            ["Cap:Sender"] = "gateway.sensorkit.example",
            ["Cap:Status"] = "Actual",
            ["Cap:TimeZone"] = "Europe/Berlin",
            ["Cap:Contact"] = "SensorKit Betriebszentrale, betrieb@sensorkit.example",
            ["CapFeed:PublicBaseUrl"] = "https://gateway.sensorkit.example/",
            ["Cap:Sites:cologne:de-DE"] = "Köln-Innenstadt",
            ["Cap:Sites:cologne:en-US"] = "Cologne city centre",
            ["Cap:Signing:CertificateFile"] = ExampleSigningKey.CertificateFile,
            ["Cap:Signing:KeyFile"] = ExampleSigningKey.KeyFile,
        });
        (string Node, double Lat, double Lon)[] nodes = [("n1", 50.9375, 6.9603), ("n2", 50.9413, 6.9583), ("n3", 50.9356, 6.9735)];
        foreach ((string node, double lat, double lon) in nodes)
        {
            h.Status("cologne", node, lat: lat, lon: lon);
        }

        // 1012 hPa, falling 10 hPa from 01:00 to 04:00, steady until 05:00, recovering 8 hPa by 09:00.
        static double Pressure(int m) => m < 60 ? 101_200 : m < 240 ? 101_200 - (1000.0 * (m - 60) / 180) : m < 300 ? 100_200 : Math.Min(101_000, 100_200 + (800.0 * (m - 300) / 240));
        for (int m = 1; m <= 8 * 60; m++)
        {
            foreach ((string node, _, _) in nodes)
            {
                h.Telemetry("cologne", node, Quantities.Pressure, Pressure(m), Day.AddMinutes(m));
            }
        }

        Assert.Equal(2, h.Cap.Count);
        Compare("gateway-storm-alert.xml", h.Cap[0]);
        Compare("gateway-storm-allclear.xml", h.Cap[1]);
    }

    private static void Compare(string fileName, string xml)
    {
        byte[] actual = Encoding.UTF8.GetBytes(xml);
        string path = Path.Combine(RepoRoot(), "docs", "examples", fileName);
        if (Environment.GetEnvironmentVariable("SENSORKIT_REGENERATE_GOLDEN") == "1")
        {
            File.WriteAllBytes(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"{path} is missing; run the tests with SENSORKIT_REGENERATE_GOLDEN=1 to create it.");
        Assert.Equal(File.ReadAllText(path, Encoding.UTF8), xml);
    }
}
