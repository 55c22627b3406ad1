using SensorKit.Protocol;
using static SensorKit.Tests.Gateway.AlertQuality.QualityFeed;

namespace SensorKit.Tests.Gateway.AlertQuality;

/// <summary>The scorer on hand-made alert timelines, so the replay table counts what its columns say.</summary>
public sealed class AlertQualityScorerTests
{
    private static readonly TrueEvent Flood = new()
    {
        Name = "flood",
        Audience = AlertAudience.Public,
        Rule = "flood",
        Site = "s",
        Onset = At(60),
        Hold = TimeSpan.FromMinutes(10),
        End = At(180),
    };

    private static AlertMessage Step(string id, AlertState state, string subject, double minute, double raisedAt, string[]? nodes = null, double value = 1, string severity = "Moderate", string rule = "flood", AlertAudience audience = AlertAudience.Public) => new()
    {
        AlertId = id,
        Rule = rule,
        State = state,
        Audience = audience,
        Site = "s",
        Subject = subject,
        Nodes = nodes ?? [subject],
        Quantity = "water-level",
        Unit = "m",
        Value = value,
        Threshold = 1,
        Severity = severity,
        Certainty = "Observed",
        Urgency = "Expected",
        Headline = "h",
        Time = At(minute),
        RaisedAt = At(raisedAt),
        Revision = 1,
    };

    [Fact]
    public void A_second_raise_at_one_subject_is_flapping_a_second_subject_is_excess_and_an_alert_outside_every_event_is_false()
    {
        CaseScore s = AlertQualityScorer.Score("t", [
            Step("a", AlertState.Raised, "n1", 70, 70),
            Step("b", AlertState.Raised, "n2", 71, 71),
            Step("a", AlertState.Cleared, "n1", 80, 70),
            Step("c", AlertState.Raised, "n1", 82, 82),
            Step("c", AlertState.Cleared, "n1", 190, 82),
            Step("b", AlertState.Cleared, "n2", 190, 71),
            Step("d", AlertState.Raised, "n1", 300, 300),
        ], [Flood]);

        Assert.Equal(
            (0, 1, 1, 1, 4, 0, 0),
            (s[Metric.Missed], s[Metric.False], s[Metric.Flapping], s[Metric.Excess], s[Metric.PublicAlerts], s[Metric.OffHold], s[Metric.EndedEarly]));
        Assert.Equal(TimeSpan.Zero, s.WorstDelay);
    }

    [Fact]
    public void Only_consecutive_messages_with_the_same_state_severity_nodes_and_rounded_value_are_identical()
    {
        CaseScore s = AlertQualityScorer.Score("t", [
            Step("a", AlertState.Raised, "s", 70, 70, ["n1"], 5.001),
            Step("a", AlertState.Updated, "s", 71, 70, ["n1"], 5.001),
            Step("a", AlertState.Updated, "s", 71, 70, ["n1"], 5.004),
            Step("a", AlertState.Updated, "s", 72, 70, ["n1", "n2"], 5.004),
            Step("a", AlertState.Updated, "s", 73, 70, ["n1", "n2"], 5.2),
            Step("a", AlertState.Updated, "s", 74, 70, ["n1", "n2"], 5.2, "Severe"),
        ], [Flood]);

        Assert.Equal(1, s[Metric.IdenticalUpdates]);
        Assert.Equal(2, s[Metric.NodesListed]);
        Assert.Equal(6, s[Metric.Steps]);
    }

    [Fact]
    public void A_raise_far_from_its_hold_is_off_hold_an_unreported_event_is_missed_unless_optional_and_an_early_all_clear_counts()
    {
        TrueEvent quiet = Flood with { Name = "quiet", Rule = "other" };
        TrueEvent maybe = Flood with { Name = "maybe", Rule = "maybe", Optional = true };
        CaseScore s = AlertQualityScorer.Score("t", [
            Step("a", AlertState.Raised, "n1", 95, 95),
            Step("a", AlertState.Cleared, "n1", 120, 95),
        ], [Flood, quiet, maybe]);

        Assert.Equal((1, 1, 1, 0), (s[Metric.OffHold], s[Metric.Missed], s[Metric.EndedEarly], s[Metric.False]));
        Assert.Equal(TimeSpan.FromMinutes(25), s.WorstDelay);
        Assert.Contains(s.Notes, n => n.StartsWith("flood: raised +25.0 min", StringComparison.Ordinal));
    }

    [Fact]
    public void Operator_alerts_match_by_subject_and_count_apart_from_public_ones()
    {
        TrueEvent offline = new() { Name = "offline", Audience = AlertAudience.Operator, Rule = "node-offline", Site = "s", Subject = "n1", Onset = At(10), Hold = TimeSpan.FromMinutes(1) };
        CaseScore s = AlertQualityScorer.Score("t", [
            Step("a", AlertState.Raised, "n1", 11, 11, rule: "node-offline", audience: AlertAudience.Operator),
            Step("b", AlertState.Raised, "n2", 11, 11, rule: "node-offline", audience: AlertAudience.Operator),
        ], [offline]);

        Assert.Equal((0, 1, 2, 0), (s[Metric.Missed], s[Metric.False], s[Metric.OperatorAlerts], s[Metric.PublicAlerts]));
    }

    [Fact]
    public void The_table_has_a_row_per_case_and_a_column_per_metric_with_marks()
    {
        CaseScore s = AlertQualityScorer.Score("glitch", [Step("a", AlertState.Raised, "n1", 5, 5)], []);

        string[] lines = AlertQualityScorer.Table([s], (c, m) => m == Metric.False ? "*" : string.Empty).TrimEnd().Split('\n');

        Assert.Equal(3, lines.Length);
        Assert.Equal(Enum.GetValues<Metric>().Length + 2, lines[0].Split('|', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains(" 1* |", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("| glitch ", lines[2], StringComparison.Ordinal);
    }
}
