using SensorKit.Gateway.Rules;
using SensorKit.Protocol;
using static SensorKit.Tests.Gateway.AlertQuality.QualityFeed;

namespace SensorKit.Tests.Gateway.AlertQuality;

/// <summary>A scripted stretch of node traffic and what really happened in it.</summary>
internal sealed record QualityCase(string Name, string What, Action<QualityFeed> Script, IReadOnlyList<TrueEvent> Events);

/// <summary>
/// The replay cases. Window k ends at minute k of <see cref="Gateway.Alerting.AlertingHarness.Day"/> (one-minute
/// windows). Onsets and ends are worked out from the signals against the shipped packs' thresholds: water level
/// 6.20 m (hysteresis 0.10, rhine-cologne), rise 5 cm within 15 minutes (hysteresis 2 cm), perceived temperature
/// 32 °C (hysteresis 1, air temperature as the fallback); holds come from the rules in force.
/// </summary>
internal static class AlertQualityCases
{
    private const string River = "rhine-cologne";
    private const string Gauge = "vl53l0x";
    private const string Water = Quantities.WaterLevel;
    private const string LevelRule = "flood-water-level";
    private const string RiseRule = "flood-rise-rate";
    private const string HeatRule = "heat-perceived-temperature";

    public static IReadOnlyList<QualityCase> All { get; } =
    [
        Glitch(),
        Backfill(),
        HeatAtOneSite(),
        FloodAtOneSite(),
        StuckGauge(),
        FlakySensor(),
        SlowRise(),
        LostMidEvent(),
        Hover(),
        RiseHover(),
    ];

    private static TrueEvent Hazard(string name, string rule, string site, int onset, int? end) =>
        new() { Name = name, Audience = AlertAudience.Public, Rule = rule, Site = site, Onset = At(onset), End = end is { } e ? At(e) : null };

    private static TrueEvent Operator(string name, string? rule, string site, string node, DateTimeOffset onset, DateTimeOffset? end) =>
        new() { Name = name, Audience = AlertAudience.Operator, Rule = rule, Site = site, Subject = node, Onset = onset, End = end };

    private static void Gauges(QualityFeed f, params string[] gauges)
    {
        for (int i = 0; i < gauges.Length; i++)
        {
            f.Status(River, gauges[i], sensor: Gauge, lat: 50.936 + (0.002 * i), lon: 6.962 + (0.002 * i));
        }
    }

    /// <summary>Uniform in ±<paramref name="amplitude"/>.</summary>
    private static double Noise(Random r, double amplitude) => ((r.NextDouble() * 2) - 1) * amplitude;

    /// <summary>Three gauges at 5.00 m (±5 mm); window 60 of gauge-2 reads 50 cm high, the next one is normal again.</summary>
    private static QualityCase Glitch() => new("glitch", "one window 50 cm above its neighbours at one gauge", f =>
    {
        var noise = new Random(11);
        string[] gauges = ["gauge-1", "gauge-2", "gauge-3"];
        Gauges(f, gauges);
        for (int k = 1; k <= 120; k++)
        {
            for (int i = 0; i < gauges.Length; i++)
            {
                double level = 5.00 + (0.01 * (i - 1)) + Noise(noise, 0.005) + (i == 1 && k == 60 ? 0.50 : 0);
                f.Window(River, gauges[i], At(k), Water, level, Gauge);
            }
        }

        f.AdvanceTo(At(121));
    }, []);

    /// <summary>
    /// One gauge at 6.00 m loses its connection after window 60 (the broker publishes its will 25 s later). In the
    /// outage the level rises 6 cm a minute from window 81 to 6.54 m at window 89 and stays there. It reconnects at
    /// 02:00:58 with 60 windows queued, sends window 121 live, then the backlog 61…120 oldest first at 50 a second
    /// (backfill: true), then live windows again. Rise: 6 cm within 15 minutes at window 81, back to 0 at window 104.
    /// Level: at or above 6.20 m from window 84 (6.24 m).
    /// </summary>
    private static QualityCase Backfill()
    {
        static double Level(int k) => k <= 80 ? 6.00 : Math.Min(6.54, 6.00 + (0.06 * (k - 80)));
        DateTimeOffset lost = At(60) + TimeSpan.FromSeconds(25);
        DateTimeOffset back = At(120) + TimeSpan.FromSeconds(58);
        return new("backfill", "an hour's outage, backlog after a live window, a rise and a level crossing inside it", f =>
        {
            Gauges(f, "gauge-1");
            for (int k = 1; k <= 60; k++)
            {
                f.Window(River, "gauge-1", At(k), Water, Level(k), Gauge);
            }

            f.AdvanceTo(lost);
            f.Status(River, "gauge-1", NodeState.Lost, sensor: Gauge);
            f.AdvanceTo(back);
            f.Status(River, "gauge-1", sensor: Gauge, queued: 60);
            f.Window(River, "gauge-1", At(121), Water, Level(121), Gauge);
            for (int k = 61; k <= 120; k++)
            {
                f.Window(River, "gauge-1", At(k), Water, Level(k), Gauge, backfill: true);
            }

            for (int k = 122; k <= 180; k++)
            {
                f.Window(River, "gauge-1", At(k), Water, Level(k), Gauge);
            }

            f.AdvanceTo(At(181));
        },
        [
            Operator("offline", NodeOfflineOptions.RuleId, River, "gauge-1", lost, back),
            Hazard("rise", RiseRule, River, 81, 104),
            Hazard("level", LevelRule, River, 84, null),
        ]);
    }

    /// <summary>
    /// Air temperature (no heat index: the rule falls back to it) 28 °C, up 0.1 °C a minute from window 60 to 35 °C,
    /// down again from window 250; nodes offset by <paramref name="offsets"/>. With +0.05, −0.15, +0.25: at or above
    /// 32 °C from windows 100, 102, 98; at or below 31 °C from windows 291, 289, 293.
    /// </summary>
    private static double Heat(int k, double offset) => offset + k switch
    {
        <= 60 => 28,
        <= 130 => 28 + (0.1 * (k - 60)),
        <= 250 => 35,
        <= 320 => 35 - (0.1 * (k - 250)),
        _ => 28,
    };

    private static readonly double[] HeatOffsets = [0.05, -0.15, 0.25];

    private static QualityCase HeatAtOneSite() => new("heat-3-nodes", "one heat event at three nodes of one site", f =>
    {
        for (int i = 0; i < 3; i++)
        {
            f.Status("cologne", $"n{i + 1}", lat: 50.93 + (0.01 * i), lon: 6.95 + (0.01 * i));
        }

        for (int k = 1; k <= 360; k++)
        {
            for (int i = 0; i < 3; i++)
            {
                f.Window("cologne", $"n{i + 1}", At(k), Quantities.Temperature, Heat(k, HeatOffsets[i]));
            }
        }

        f.AdvanceTo(At(361));
    }, [Hazard("heat", HeatRule, "cologne", 98, 293)]);

    /// <summary>
    /// Two gauges at 5.50 m (+3 mm, −4 mm) rise 7 mm a minute from window 60 to window 220, stay at the crest, fall as
    /// fast from window 360. Rise: 5.6 cm within 15 minutes at window 68, back to 2.8 cm at window 231. Level: at or
    /// above 6.20 m from windows 160 and 161, at or below 6.10 m from windows 435 and 434.
    /// </summary>
    private static QualityCase FloodAtOneSite()
    {
        static double Level(int k, double offset) => 5.50 + offset + k switch
        {
            <= 60 => 0,
            <= 220 => 0.007 * (k - 60),
            <= 360 => 1.12,
            _ => Math.Max(0, 1.12 - (0.007 * (k - 360))),
        };
        return new("flood-2-gauges", "one flood at two gauges of one site", f =>
        {
            Gauges(f, "gauge-1", "gauge-2");
            for (int k = 1; k <= 480; k++)
            {
                f.Window(River, "gauge-1", At(k), Water, Level(k, 0.003), Gauge);
                f.Window(River, "gauge-2", At(k), Water, Level(k, -0.004), Gauge);
            }

            f.AdvanceTo(At(481));
        },
        [
            Hazard("rise", RiseRule, River, 68, 231),
            Hazard("level", LevelRule, River, 160, 435),
        ]);
    }

    /// <summary>
    /// A gauge whose every window for 2 hours reads 7.40 m and is flagged stuck: the control room must hear of it.
    /// No configured hold applies, so the raise is due within Operator:StaleData:After (5 minutes) ± 10 minutes.
    /// </summary>
    private static QualityCase StuckGauge() => new("stuck-gauge", "a gauge stuck at 7.40 m (flag stuck) for 2 h", f =>
    {
        Gauges(f, "gauge-1");
        for (int k = 1; k <= 120; k++)
        {
            f.Window(River, "gauge-1", At(k), Water, 7.40, Gauge, QualityFlags.Stuck);
        }

        f.AdvanceTo(At(121));
    },
    [
        Operator("stuck", null, River, "gauge-1", At(1), null) with { Hold = TimeSpan.FromMinutes(5), Tolerance = TimeSpan.FromMinutes(10) },
    ]);

    /// <summary>
    /// The demo's flaky node, on one-minute windows: its sensor fails twice and recovers. Each time the node says
    /// degraded at :40, sends a window of 2 of 6 samples flagged gaps, read-errors and stale on every channel, says
    /// failed a second later, sends nothing for three windows, says ok at +3 min 10 s and sends a window with gaps.
    /// </summary>
    private static QualityCase FlakySensor()
    {
        (string, double)[] channels =
        [
            (Quantities.Temperature, 18.0),
            (Quantities.Humidity, 62.0),
            (Quantities.Pressure, 101325),
            (Quantities.HeatIndex, 17.5),
            (Quantities.DewPoint, 10.7),
        ];
        int[] failures = [20, 40];
        return new("flaky-sensor", "a sensor that fails and recovers twice", f =>
        {
            f.Status("cologne", "flaky-1");
            for (int k = 1; k <= 60; k++)
            {
                if (failures.Contains(k - 1))
                {
                    f.AdvanceTo(At(k - 1) + TimeSpan.FromSeconds(40));
                    f.Status("cologne", "flaky-1", health: SensorHealth.Degraded);
                    f.Windows("cologne", "flaky-1", At(k), channels, flags: QualityFlags.Gaps | QualityFlags.ReadErrors | QualityFlags.Stale, count: 2);
                    f.AdvanceTo(At(k) + TimeSpan.FromSeconds(1));
                    f.Status("cologne", "flaky-1", health: SensorHealth.Failed);
                }
                else if (failures.Any(x => k - x is >= 2 and <= 4))
                {
                    // Failed: retried with backoff, no window.
                }
                else if (failures.Contains(k - 5))
                {
                    f.AdvanceTo(At(k - 1) + TimeSpan.FromSeconds(10));
                    f.Status("cologne", "flaky-1");
                    f.Windows("cologne", "flaky-1", At(k), channels, flags: QualityFlags.Gaps, count: 5);
                }
                else
                {
                    f.Windows("cologne", "flaky-1", At(k), channels);
                }
            }

            f.AdvanceTo(At(61));
        },
        [
            .. failures.Select(x => Operator($"failed {x + 1}", SensorFailedOptions.RuleId, "cologne", "flaky-1", At(x + 1) + TimeSpan.FromSeconds(1), At(x + 4) + TimeSpan.FromSeconds(10))),
        ]);
    }

    /// <summary>6 cm an hour from 5.90 m, with no fast rise anywhere: at or above 6.20 m from window 300.</summary>
    private static QualityCase SlowRise() => new("slow-rise", "a slow real rise (6 cm/h) through the first stage", f =>
    {
        Gauges(f, "gauge-1");
        for (int k = 1; k <= 360; k++)
        {
            f.Window(River, "gauge-1", At(k), Water, 5.9005 + (0.001 * k), Gauge);
        }

        f.AdvanceTo(At(361));
    }, [Hazard("level", LevelRule, River, 300, null)]);

    /// <summary>
    /// The heat event of <see cref="HeatAtOneSite"/> at site bonn, but n3 (the first to cross) falls silent after
    /// window 180 and the broker publishes its will 25 s later. n1 and n2 are back at 31 °C from window 291.
    /// </summary>
    private static QualityCase LostMidEvent()
    {
        DateTimeOffset lost = At(180) + TimeSpan.FromSeconds(25);
        return new("lost-mid-event", "a node of the heat event goes lost mid-event", f =>
        {
            for (int i = 0; i < 3; i++)
            {
                f.Status("bonn", $"n{i + 1}", lat: 50.73 + (0.01 * i), lon: 7.10 + (0.01 * i));
            }

            for (int k = 1; k <= 360; k++)
            {
                if (k == 181)
                {
                    f.AdvanceTo(lost);
                    f.Status("bonn", "n3", NodeState.Lost);
                }

                for (int i = 0; i < (k <= 180 ? 3 : 2); i++)
                {
                    f.Window("bonn", $"n{i + 1}", At(k), Quantities.Temperature, Heat(k, HeatOffsets[i]));
                }
            }

            f.AdvanceTo(At(361));
        },
        [
            Hazard("heat", HeatRule, "bonn", 98, 291),
            Operator("offline", NodeOfflineOptions.RuleId, "bonn", "n3", lost, null),
        ]);
    }

    /// <summary>
    /// A gauge at 6.25 m ±2 cm for 40 minutes (raise due at window 11), then at 6.19 m ±2 cm, dithering across the
    /// 6.20 m mark but never down to 6.10 m, for 140 minutes: one raise, no clear, no flapping.
    /// </summary>
    private static QualityCase Hover() => new("hover", "a level hovering at the threshold with noise", f =>
    {
        var noise = new Random(5);
        Gauges(f, "gauge-1");
        for (int k = 1; k <= 180; k++)
        {
            f.Window(River, "gauge-1", At(k), Water, (k <= 40 ? 6.25 : 6.19) + Noise(noise, 0.02), Gauge);
        }

        f.AdvanceTo(At(181));
    }, [Hazard("level", LevelRule, River, 1, null)]);

    /// <summary>
    /// A real rise right at the rate threshold: 5.00 m, then 22 cm an hour (5.5 cm within 15 minutes) from window 60 to
    /// window 240, each window ±1.5 cm. Without noise the 15-minute rise reaches 5 cm at window 74 and is back to 3 cm at
    /// window 247; with it, both come up to 10 minutes either way. Never near 6.20 m.
    /// </summary>
    private static QualityCase RiseHover() => new("rise-hover", "a real rise at the rate threshold with noise", f =>
    {
        var noise = new Random(3);
        Gauges(f, "gauge-1");
        for (int k = 1; k <= 300; k++)
        {
            double rise = 0.22 / 60 * Math.Clamp(k - 60, 0, 180);
            f.Window(River, "gauge-1", At(k), Water, 5.00 + rise + Noise(noise, 0.015), Gauge);
        }

        f.AdvanceTo(At(301));
    }, [Hazard("rise", RiseRule, River, 74, 247) with { Tolerance = TimeSpan.FromMinutes(10) }]);
}
