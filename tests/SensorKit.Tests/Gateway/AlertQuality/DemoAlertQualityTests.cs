using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using SensorKit.Demo;
using SensorKit.Gateway.Rules;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.AlertQuality;

/// <summary>
/// The quick-start demo (gateway/SensorKit.Demo) run in-process, <see cref="Faster"/> times faster than the README's
/// 90 s run (scenario speed, node window and sample interval scaled alike), watched by a plain MQTT subscriber on the
/// alert events. Asserts no identical consecutive updates, no clear-then-raise of one alert within max(its Hold,
/// 3 node windows), and the hazards the README promises; the steps per rule go to the test output and to
/// TestResults/alert-quality-demo.md. Expectations not met yet are in <see cref="KnownGaps"/>, asserted to still fail.
/// </summary>
public sealed class DemoAlertQualityTests(ITestOutputHelper output)
{
    private const double Faster = 5;
    private const string IdenticalUpdates = "identical updates";
    private const string QuickReraises = "re-raises within hold";

    /// <summary>The README's 90 s, scaled, plus 2 s so the last all-clear is in even on a slow start.</summary>
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds((90 / Faster) + 2);

    private static readonly Expectation[] Expected =
    [
        new(IdenticalUpdates, Op.AtMost, 0),
        new(QuickReraises, Op.AtMost, 0),
        new("raised heat-perceived-temperature", Op.Exactly, 1),
        new("cleared heat-perceived-temperature", Op.Exactly, 1),
        new("raised storm-pressure-fall", Op.Exactly, 1),
        new("raised sensor-failed", Op.AtLeast, 1),
    ];

    /// <summary>
    /// Expectations the demo does not meet yet, each with its twin in the replay suite. Whether a demo run shows them
    /// depends on where the flaky node's faults fall within a node window, so a run may miss them; the twin reproduces
    /// them every time. While the twin is in <see cref="AlertQualityTests.KnownGaps"/> the demo's value is reported
    /// only; once a fix takes the twin off that list, this test fails until the entry here goes too.
    /// </summary>
    private static readonly Dictionary<string, (string Case, Metric Metric)> KnownGaps = new(StringComparer.Ordinal)
    {
    };

    [Fact]
    public async Task The_demo_publishes_no_repeated_updates_and_no_alert_raised_again_right_after_its_clear()
    {
        int port = FreePort.Get();
        var options = new DemoOptions
        {
            Port = port,
            FeedPort = 0,
            Duration = Duration,
            Speed = 720 * Faster,
            Window = TimeSpan.FromSeconds(5 / Faster),
            SampleInterval = TimeSpan.FromSeconds(1 / Faster),
        };

        // The run's length counts from the banner, which the demo prints once its broker listens and before any node
        // starts; the subscriber connects there, so it sees every alert. The first deadline only bounds a failed start.
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        MqttProbe? probe = null;
        var console = new DemoConsole(async line =>
        {
            if (probe is null && line.StartsWith("SensorKit demo:", StringComparison.Ordinal))
            {
                probe = await MqttProbe.StartAsync(port, "sensorkit/#");
                stop.CancelAfter(Duration);
            }
        });
        using var error = new StringWriter();
        int exit = await DemoRunner.RunAsync(options, console, error, stop.Token);

        List<AlertMessage> alerts;
        int staleWindows;
        await using (probe)
        {
            Assert.True(exit == 0 && probe is not null, $"demo exit code {exit}: {error}\n{string.Join("\n", console.Lines)}");
            MqttProbe.Received[] all = [.. probe!.All.Where(r => r.Payload.Length > 0)];
            alerts = [.. all.Where(r => r.Topic.Contains("/alerts/event/", StringComparison.Ordinal)).Select(r => ProtocolJson.TryReadAlert(r.Payload, out AlertMessage? a, out string why) ? a : throw new InvalidDataException($"{r.Topic}: {why}"))];
            staleWindows = all.Count(r => Topics.TryParseTelemetry(r.Topic, out _) && ProtocolJson.TryReadTelemetry(r.Payload, out TelemetryMessage m, out _) && (m.Flags & QualityFlags.Stale) != 0);
        }

        RuleCatalog catalog = DemoRules(port);
        TimeSpan floor = 3 * options.Window;
        List<string> quick = QuickRaises(alerts, rule => Max(AlertQualityScorer.HoldOf(catalog, rule, "demo"), floor));
        var metrics = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            [IdenticalUpdates] = alerts.GroupBy(a => a.AlertId, StringComparer.Ordinal).Sum(g => g.Zip(g.Skip(1)).Count(p => AlertQualityScorer.Same(p.First, p.Second))),
            [QuickReraises] = quick.Count,
        };
        foreach (IGrouping<string, AlertMessage> rule in alerts.GroupBy(a => a.Rule, StringComparer.Ordinal))
        {
            foreach (AlertState state in Enum.GetValues<AlertState>())
            {
                metrics[$"{state.ToString().ToLowerInvariant()} {rule.Key}"] = rule.Count(a => a.State == state);
            }
        }

        var failures = new List<string>();
        var report = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"Quick-start demo, {Duration.TotalSeconds:0} s at {Faster}x the README's speed (* known gap, ~ known gap this run did not show, ! fails its expectation)")
            .AppendLine("| metric | value | expected |")
            .AppendLine("|---|--:|---|");
        foreach (Expectation e in Expected)
        {
            int actual = metrics.GetValueOrDefault(e.Metric);
            string mark;
            if (KnownGaps.TryGetValue(e.Metric, out (string Case, Metric Metric) twin))
            {
                mark = e.Holds(actual) ? "~" : "*";
                if (!AlertQualityTests.KnownGaps.Contains(twin))
                {
                    failures.Add($"demo: {e.Metric}: its twin ({twin.Case}, {twin.Metric}) is no longer a known gap of the replay suite: the fix is in; delete '{e.Metric}' from {nameof(KnownGaps)} so it is asserted");
                }
            }
            else
            {
                mark = e.Judge("demo", actual, knownGap: false, nameof(KnownGaps), failures);
            }

            report.AppendLine(CultureInfo.InvariantCulture, $"| {e.Metric} | {actual}{mark} | {e} |");
        }

        failures.AddRange(KnownGaps.Keys.Where(g => Expected.All(e => e.Metric != g)).Select(g => $"{nameof(KnownGaps)} lists '{g}', which the demo expects nothing of"));
        report.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Windows flagged stale (what makes stale-data fire): {staleWindows}");
        report.AppendLine().AppendLine("| rule | raised | updated | cleared | steps |").AppendLine("|---|--:|--:|--:|--:|");
        foreach (IGrouping<string, AlertMessage> rule in alerts.GroupBy(a => a.Rule, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"| {rule.Key} | {rule.Count(a => a.State == AlertState.Raised)} | {rule.Count(a => a.State == AlertState.Updated)} | {rule.Count(a => a.State == AlertState.Cleared)} | {rule.Count()} |");
        }

        report.AppendLine().AppendLine("Raised again within max(Hold, 3 windows) of the clear:");
        foreach (string q in quick)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"  {q}");
        }

        report.AppendLine().AppendLine("Alert messages:");
        foreach (AlertMessage a in alerts)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"  {AlertQualityScorer.Describe(a)}");
        }

        report.AppendLine().AppendLine("Demo output:");
        foreach (string line in console.Lines)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"  {line}");
        }

        output.WriteLine(report.ToString());
        AlertQualityScorer.Save("alert-quality-demo.md", report.ToString());
        Assert.True(failures.Count == 0, $"{string.Join("\n", failures)}\n\n{report}");
    }

    /// <summary>Each raise that follows the clear of the same rule and subject by less than <paramref name="within"/>.</summary>
    private static List<string> QuickRaises(IReadOnlyList<AlertMessage> alerts, Func<string, TimeSpan> within)
    {
        var quick = new List<string>();
        foreach (IGrouping<(string Rule, string Subject), AlertMessage> alert in alerts.GroupBy(a => (a.Rule, a.Subject)))
        {
            AlertMessage? cleared = null;
            foreach (AlertMessage a in alert)
            {
                if (a.State == AlertState.Raised && cleared is not null && a.Time - cleared.Time < within(a.Rule))
                {
                    quick.Add(string.Create(CultureInfo.InvariantCulture, $"{a.Rule}/{a.Subject}: raised {(a.Time - cleared.Time).TotalSeconds:0.000} s after its clear (limit {within(a.Rule).TotalSeconds:0.#} s)"));
                }

                cleared = a.State is AlertState.Cleared or AlertState.Cancelled ? a : null;
            }
        }

        return quick;
    }

    /// <summary>The demo gateway's rules, loaded from its own configuration as the gateway loads them.</summary>
    private static RuleCatalog DemoRules(int port)
    {
        IConfigurationRoot config = new ConfigurationBuilder().AddInMemoryCollection(DemoRunner.GatewayConfiguration(port, 0, Path.GetTempPath())).Build();
        RulesOptions rules = config.GetSection(RulesOptions.Section).Get<RulesOptions>() ?? new RulesOptions();
        RuleCatalog catalog = RuleCatalog.Load(rules, AppContext.BaseDirectory);
        Assert.Empty(catalog.Errors);
        return catalog;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
