using SensorKit.Protocol;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>The hot path: a window that changes no alert costs the rules no allocation, with every pack in force.</summary>
public sealed class AllocationTests
{
    [Fact]
    public void A_quiet_window_allocates_nothing_in_the_rules()
    {
        using AlertingHarness h = Start("{}", new()
        {
            ["Rules:Packs:1"] = "storm",
            ["Rules:Packs:2"] = "heat",
            ["Rules:Packs:3"] = "flood",
            ["Rules:Packs:4"] = "wildfire-smoke",
            ["Rules:Packs:5"] = "operator",
        });
        h.Status("rhine-cologne", "n1");
        h.Status("rhine-cologne", "n2");
        string[] quantities = [Quantities.Pressure, Quantities.Temperature, Quantities.WaterLevel, Quantities.GasResistance];
        double[] values = [101_300, 20, 5.0, 120_000];
        string[] nodes = ["n1", "n2"];
        DateTimeOffset end = Day;

        void Window()
        {
            end = end.AddMinutes(1);
            h.Clock.SetUtcNow(end);
            for (int q = 0; q < quantities.Length; q++)
            {
                foreach (string node in nodes)
                {
                    var m = new TelemetryMessage
                    {
                        Site = "rhine-cologne", Node = node, Sensor = "bme280", Quantity = quantities[q], Unit = UnitOf(quantities[q]),
                        Sequence = 1, WindowStart = end.AddMinutes(-1), WindowEnd = end, Count = 6, Expected = 6,
                        Min = values[q], Max = values[q], Mean = values[q], First = values[q], Last = values[q],
                    };
                    h.Engine.OnTelemetry(m);
                }
            }
        }

        // Fill the rate windows (3 h) and baselines (6 h) to their size first.
        for (int i = 0; i < 7 * 60; i++)
        {
            Window();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            Window();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Empty(h.Alerts);
        Assert.True(allocated == 0, $"{allocated} B for 800 windows");
    }
}
