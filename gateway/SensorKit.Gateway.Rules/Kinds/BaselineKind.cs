using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Rules;

public sealed partial class RulesOptions
{
    /// <summary>Baseline rules (<see cref="BaselineKind"/>).</summary>
    public List<BaselineRuleOptions> Baseline { get; set; } = [];
}

/// <summary>
/// Raises when the window mean deviates by <see cref="DropPercent"/> below (or <see cref="RisePercent"/> above)
/// the mean of the last <see cref="Baseline"/>. Values beyond the first threshold stay out of the baseline, so
/// an event does not become the new normal.
/// </summary>
public sealed class BaselineRuleOptions : HazardRuleOptions
{
    public double? DropPercent { get; set; }

    public double? RisePercent { get; set; }

    public TimeSpan Baseline { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How much history the baseline needs before the rule evaluates at all.</summary>
    public TimeSpan MinBaseline { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Percent deviation of the window mean from the mean of a rolling baseline.</summary>
internal sealed class BaselineKind : RuleKind<BaselineRuleOptions>
{
    private static readonly ThresholdKey DropKey = new("DropPercent", Above: false, Negated: true, s => s.DropPercent, c => c.DropPercent, o => o.DropPercent);
    private static readonly ThresholdKey RiseKey = new("RisePercent", Above: true, Negated: false, s => s.RisePercent, c => c.RisePercent, o => o.RisePercent);

    // After the keys: static fields are set in order, and the instance lists them.
    public static readonly BaselineKind Instance = new();

    private BaselineKind()
    {
    }

    public override string Name => "baseline";

    public override string Section => "Baseline";

    public override string MeasureName => "deviation";

    public override IReadOnlyList<ThresholdKey> Keys { get; } = [DropKey, RiseKey];

    public override IReadOnlyList<string> OverrideKeys { get; } = ["Baseline"];

    public override bool KeepsHistory => true;

    public override void CheckPrimary(string rule, ThresholdKey key, double value, List<string> errors) =>
        RuleChecks.Percent(errors, rule, key.Name, value, key == DropKey);

    public override void CheckCondition(ConditionOptions condition, string name, ThresholdKey key, List<string> errors)
    {
        RuleChecks.Percent(errors, name, key.Name, key.Condition(condition)!.Value, key == DropKey);
        RuleChecks.Baseline(errors, name, condition.Baseline, condition.MinBaseline);
    }

    public override bool Sets(RuleOverrideOptions o, string overrideKey) => o.Baseline is not null;

    public override ConditionSpec WithParameters(ConditionSpec spec, ConditionOptions condition) =>
        spec with { Baseline = condition.Baseline, MinBaseline = condition.MinBaseline };

    public override double Measure(ConditionSpec spec, SampleWindow? samples, double value, DateTimeOffset time, int level)
    {
        if (level == 0)
        {
            // Frozen during an event: the baseline it is measured against must outlast it.
            samples!.TrimBefore(time - spec.Baseline);
        }

        double mean = samples!.Mean;
        if (samples.Count == 0 || time - samples.OldestTime < spec.MinBaseline || mean == 0 || !double.IsFinite(mean))
        {
            return double.NaN;
        }

        return (value - mean) / Math.Abs(mean) * 100;
    }

    public override void Evaluated(ConditionSpec spec, SampleWindow? samples, double value, double measured, DateTimeOffset time, int level)
    {
        if (level == 0 && !(double.IsFinite(measured) && spec.IsBeyond(measured, 0)))
        {
            // Only ordinary values make the baseline: an event must not become the new normal.
            samples!.Add(time, value);
        }
    }

    public override string EvidenceUnit(string? unit) => "%";

    public override string Describe(ConditionSpec primary, AlertEvidence evidence, string label, string nodes, bool german)
    {
        string threshold = FormatThreshold(evidence, german);
        return german
            ? $"{label} an {nodes}: {AlertText.Format("%", evidence.Value, true, true)} {(evidence.Value < 0 ? "unter" : "über")} dem Mittel der letzten {AlertText.Duration(primary.Baseline, true)} (Schwelle {threshold})."
            : $"{label} at {nodes}: {AlertText.Format("%", evidence.Value, false, true)} {(evidence.Value < 0 ? "below" : "above")} its mean of the last {AlertText.Duration(primary.Baseline, false)} (threshold {threshold}).";
    }

    protected override List<BaselineRuleOptions> List(RulesOptions options) => options.Baseline;

    protected override double? Get(BaselineRuleOptions rule, ThresholdKey key) => key == DropKey ? rule.DropPercent : rule.RisePercent;

    protected override void Set(BaselineRuleOptions rule, ThresholdKey key, double value) =>
        (rule.DropPercent, rule.RisePercent) = key == DropKey ? ((double?)value, (double?)null) : (null, value);

    protected override void Check(BaselineRuleOptions rule, string name, List<string> errors) =>
        RuleChecks.Baseline(errors, name, rule.Baseline, rule.MinBaseline);

    protected override void Apply(BaselineRuleOptions copy, RuleOverrideOptions o) => copy.Baseline = o.Baseline ?? copy.Baseline;

    protected override ConditionSpec With(ConditionSpec spec, BaselineRuleOptions rule) =>
        spec with { Baseline = rule.Baseline, MinBaseline = rule.MinBaseline };
}
