using System.Globalization;
using System.Text;
using SensorKit.Gateway.Rules;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.AlertQuality;

/// <summary>Something that really happened and that alerts should report: the ground truth of a case.</summary>
internal sealed record TrueEvent
{
    /// <summary>Short label for the notes, e.g. "level".</summary>
    public required string Name { get; init; }

    public required AlertAudience Audience { get; init; }

    /// <summary>The rule that should report it; null: any rule of <see cref="Audience"/>.</summary>
    public string? Rule { get; init; }

    public required string Site { get; init; }

    /// <summary>null: any subject (a node, or the site for an area alert).</summary>
    public string? Subject { get; init; }

    /// <summary>When the condition began: telemetry time for hazards, gateway time for operator rules.</summary>
    public required DateTimeOffset Onset { get; init; }

    /// <summary>The hold the raise waits after <see cref="Onset"/>; null: the configured Hold of <see cref="Rule"/> at <see cref="Site"/>.</summary>
    public TimeSpan? Hold { get; init; }

    /// <summary>When the condition ended; null: it lasts past the end of the case.</summary>
    public DateTimeOffset? End { get; init; }

    /// <summary>How far the raise may lie from Onset + Hold.</summary>
    public TimeSpan Tolerance { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>May go unreported (a value sitting at the threshold); when reported it is scored like any other.</summary>
    public bool Optional { get; init; }

    public DateTimeOffset Due => Onset + (Hold ?? throw new InvalidOperationException($"event {Name}: hold not resolved"));

    /// <summary>Fills in the configured hold of the rule, as the gateway has it after packs and site overrides.</summary>
    public TrueEvent Resolve(RuleCatalog catalog)
    {
        if (Hold is not null)
        {
            return this;
        }

        TimeSpan hold = Rule is null
            ? throw new InvalidOperationException($"event {Name}: no rule, so give its hold")
            : AlertQualityScorer.HoldOf(catalog, Rule, Site);
        return this with { Hold = hold };
    }
}

/// <summary>What the scorer counts per case.</summary>
internal enum Metric
{
    /// <summary>Events (not optional) that no alert reported.</summary>
    Missed,

    /// <summary>Alerts that report no event.</summary>
    False,

    /// <summary>Per event and subject, every raise after the first: more than one raise/clear pair for one event.</summary>
    Flapping,

    /// <summary>Consecutive messages of one alert with the same state, severity, nodes and value (2 decimals).</summary>
    IdenticalUpdates,

    /// <summary>Per public event, every alert subject after the first: more than one public alert per site and hazard.</summary>
    Excess,

    /// <summary>Events whose alerts had all cleared before the event ended.</summary>
    EndedEarly,

    /// <summary>Events whose first raise lies further than its tolerance from Onset + Hold (raisedAt, telemetry time).</summary>
    OffHold,

    PublicAlerts,

    OperatorAlerts,

    /// <summary>Most nodes any public alert message lists.</summary>
    NodesListed,

    /// <summary>Alert messages.</summary>
    Steps,
}

internal sealed record CaseScore(string Case, IReadOnlyDictionary<Metric, int> Metrics, TimeSpan? WorstDelay, IReadOnlyList<string> Notes, IReadOnlyList<string> Steps)
{
    public int this[Metric m] => Metrics[m];
}

/// <summary>Scores the alert messages of one case against its true events.</summary>
internal static class AlertQualityScorer
{
    private sealed record Alert(string AlertId, IReadOnlyList<AlertMessage> Messages)
    {
        public AlertMessage First => Messages[0];

        /// <summary>When it ended (gateway time of the clear or cancel); null while active.</summary>
        public DateTimeOffset? Ended => Messages[^1].State is AlertState.Cleared or AlertState.Cancelled ? Messages[^1].Time : null;

        public bool Reports(TrueEvent e) =>
            First.Audience == e.Audience
            && (e.Rule is null || First.Rule == e.Rule)
            && First.Site == e.Site
            && (e.Subject is null || First.Subject == e.Subject)
            && (e.End is not { } end || First.RaisedAt <= end + e.Hold!.Value + e.Tolerance)
            && (Ended ?? DateTimeOffset.MaxValue) >= e.Onset;
    }

    /// <summary>The configured hold of a rule at a site, packs and site overrides applied; stale-data has none.</summary>
    public static TimeSpan HoldOf(RuleCatalog catalog, string rule, string site) => rule switch
    {
        NodeOfflineOptions.RuleId => catalog.Operator.NodeOffline.Hold,
        SensorFailedOptions.RuleId => catalog.Operator.SensorFailed.Hold,
        StaleDataOptions.RuleId => TimeSpan.Zero,
        _ => catalog.Rules.FirstOrDefault(r => r.Id == rule && r.AppliesTo(site))?.Primary.Hold
            ?? throw new InvalidOperationException($"rule '{rule}' is not in force at site '{site}'"),
    };

    public static CaseScore Score(string name, IReadOnlyList<AlertMessage> messages, IReadOnlyList<TrueEvent> events)
    {
        List<Alert> alerts = [.. messages.GroupBy(m => m.AlertId, StringComparer.Ordinal).Select(g => new Alert(g.Key, [.. g]))];
        var metrics = Enum.GetValues<Metric>().ToDictionary(m => m, _ => 0);
        var notes = new List<string>();
        TimeSpan? worst = null;
        var reporting = new HashSet<string>(StringComparer.Ordinal);

        foreach (TrueEvent e in events)
        {
            List<Alert> mine = [.. alerts.Where(a => a.Reports(e))];
            reporting.UnionWith(mine.Select(a => a.AlertId));
            if (mine.Count == 0)
            {
                if (!e.Optional)
                {
                    metrics[Metric.Missed]++;
                    notes.Add($"{e.Name}: missed (due {Clock(e.Due)})");
                }

                continue;
            }

            var bySubject = mine.GroupBy(a => a.First.Subject, StringComparer.Ordinal).ToList();
            metrics[Metric.Flapping] += bySubject.Sum(g => g.Count() - 1);
            if (e.Audience == AlertAudience.Public)
            {
                metrics[Metric.Excess] += bySubject.Count - 1;
            }

            DateTimeOffset lastEnd = mine.Max(a => a.Ended ?? DateTimeOffset.MaxValue);
            if (lastEnd < (e.End ?? DateTimeOffset.MaxValue) - e.Tolerance)
            {
                metrics[Metric.EndedEarly]++;
                notes.Add($"{e.Name}: all clear at {Clock(lastEnd)}, before the event ended ({(e.End is { } end ? Clock(end) : "after the case")})");
            }

            DateTimeOffset raised = mine.Min(a => a.First.RaisedAt);
            TimeSpan delay = raised - e.Due;
            if (delay.Duration() > e.Tolerance)
            {
                metrics[Metric.OffHold]++;
                notes.Add($"{e.Name}: raised {Minutes(delay)} min against its hold (raisedAt {Clock(raised)}, due {Clock(e.Due)})");
            }

            if (!e.Optional && (worst is null || delay.Duration() > worst.Value.Duration()))
            {
                worst = delay;
            }

            if (mine.Count > 1)
            {
                notes.Add($"{e.Name}: {mine.Count} alerts ({string.Join(", ", bySubject.Select(g => $"{g.Key}×{g.Count()}"))})");
            }
        }

        foreach (Alert a in alerts.Where(a => !reporting.Contains(a.AlertId)))
        {
            metrics[Metric.False]++;
            notes.Add($"false: {a.First.Rule} at {a.First.Subject}, raised {Clock(a.First.RaisedAt)}, {(a.Ended is { } end ? $"cleared {Clock(end)}" : "still active")}");
        }

        foreach (Alert a in alerts)
        {
            for (int i = 1; i < a.Messages.Count; i++)
            {
                if (Same(a.Messages[i - 1], a.Messages[i]))
                {
                    metrics[Metric.IdenticalUpdates]++;
                }
            }
        }

        metrics[Metric.PublicAlerts] = alerts.Count(a => a.First.Audience == AlertAudience.Public);
        metrics[Metric.OperatorAlerts] = alerts.Count(a => a.First.Audience == AlertAudience.Operator);
        metrics[Metric.NodesListed] = messages.Where(m => m.Audience == AlertAudience.Public).Select(m => m.Nodes.Count).DefaultIfEmpty(0).Max();
        metrics[Metric.Steps] = messages.Count;
        return new CaseScore(name, metrics, worst, notes, [.. messages.Select(Describe)]);
    }

    /// <summary>One alert message as "time state rule/subject severity [nodes] value (raisedAt)".</summary>
    public static string Describe(AlertMessage m) => string.Create(
        CultureInfo.InvariantCulture,
        $"{Clock(m.Time)} {m.State.ToString().ToLowerInvariant(),-9} {m.Rule}/{m.Subject} {m.Severity} [{string.Join(",", m.Nodes)}] {m.Quantity} {m.Value:0.###} (raisedAt {Clock(m.RaisedAt)})");

    /// <summary>Same state, severity, nodes and value rounded to 2 decimals: a message that tells nothing new.</summary>
    public static bool Same(AlertMessage a, AlertMessage b) =>
        a.State == b.State
        && a.Severity == b.Severity
        && a.Nodes.SequenceEqual(b.Nodes, StringComparer.Ordinal)
        && Math.Round(a.Value, 2) == Math.Round(b.Value, 2);

    /// <summary>Case × metric; <paramref name="mark"/> may tag a cell (e.g. "*" for a known gap).</summary>
    public static string Table(IReadOnlyList<CaseScore> scores, Func<string, Metric, string>? mark = null)
    {
        (string Head, Func<CaseScore, string> Cell)[] columns =
        [
            ("case", s => s.Case),
            .. Enum.GetValues<Metric>().Select(m => (Head(m), (Func<CaseScore, string>)(s => s[m].ToString(CultureInfo.InvariantCulture) + (mark?.Invoke(s.Case, m) ?? string.Empty)))),
            ("delay min", s => s.WorstDelay is { } d ? Minutes(d) : "-"),
        ];
        int[] widths = [.. columns.Select(c => Math.Max(c.Head.Length, scores.Select(s => c.Cell(s).Length).DefaultIfEmpty(0).Max()))];
        var sb = new StringBuilder();
        void Row(IEnumerable<string> cells) => sb.AppendLine("| " + string.Join(" | ", cells.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))) + " |");
        Row(columns.Select(c => c.Head));
        sb.AppendLine("|" + string.Join("|", widths.Select((w, i) => new string('-', w + 1) + (i == 0 ? "-" : ":"))) + "|");
        foreach (CaseScore s in scores)
        {
            Row(columns.Select(c => c.Cell(s)));
        }

        return sb.ToString();
    }

    /// <summary>Writes a report beside the test run's TRX files (TestResults/ at the repository root).</summary>
    public static void Save(string name, string report)
    {
        string directory = Directory.CreateDirectory(Path.Combine(RepoPaths.Root, "TestResults")).FullName;
        File.WriteAllText(Path.Combine(directory, name), report);
    }

    private static string Head(Metric m) => m switch
    {
        Metric.Missed => "missed",
        Metric.False => "false",
        Metric.Flapping => "flap",
        Metric.IdenticalUpdates => "identical",
        Metric.Excess => "excess",
        Metric.EndedEarly => "ended early",
        Metric.OffHold => "off hold",
        Metric.PublicAlerts => "public",
        Metric.OperatorAlerts => "operator",
        Metric.NodesListed => "nodes",
        _ => "steps",
    };

    private static string Minutes(TimeSpan t) => t.TotalMinutes.ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);

    private static string Clock(DateTimeOffset t) => t.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
}
