using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Rules;

public sealed partial class RulesOptions
{
    /// <summary>Rate-of-change rules (<see cref="RateOfChangeKind"/>).</summary>
    public List<RateOfChangeRuleOptions> RateOfChange { get; set; } = [];
}

/// <summary>
/// Raises when the window mean has risen by <see cref="Rise"/> (or fallen by <see cref="Fall"/>) within
/// <see cref="Window"/>: the latest mean against the oldest one inside the window.
/// </summary>
public sealed class RateOfChangeRuleOptions : HazardRuleOptions
{
    public double? Rise { get; set; }

    public double? Fall { get; set; }

    public TimeSpan Window { get; set; }
}

/// <summary>The latest window mean minus the oldest one inside the rule's window.</summary>
internal sealed class RateOfChangeKind : RuleKind<RateOfChangeRuleOptions>
{
    private static readonly ThresholdKey RiseKey = new("Rise", Above: true, Negated: false, s => s.Rise, c => c.Rise, o => o.Rise);
    private static readonly ThresholdKey FallKey = new("Fall", Above: false, Negated: true, s => s.Fall, c => c.Fall, o => o.Fall);

    // After the keys: static fields are set in order, and the instance lists them.
    public static readonly RateOfChangeKind Instance = new();

    private RateOfChangeKind()
    {
    }

    public override string Name => "rate-of-change";

    public override string Section => "RateOfChange";

    public override string MeasureName => "change";

    public override IReadOnlyList<ThresholdKey> Keys { get; } = [RiseKey, FallKey];

    public override IReadOnlyList<string> OverrideKeys { get; } = ["Window"];

    public override bool KeepsHistory => true;

    public override void CheckPrimary(string rule, ThresholdKey key, double value, List<string> errors) =>
        RuleChecks.Amount(errors, rule, key.Name, value, allowZero: false);

    public override void CheckCondition(ConditionOptions condition, string name, ThresholdKey key, List<string> errors)
    {
        RuleChecks.Amount(errors, name, key.Name, key.Condition(condition)!.Value, allowZero: false);
        if (condition.Window <= TimeSpan.Zero)
        {
            errors.Add($"{name}:Window: {condition.Window} must be positive for {key.Name}");
        }
    }

    public override bool Sets(RuleOverrideOptions o, string overrideKey) => o.Window is not null;

    public override ConditionSpec WithParameters(ConditionSpec spec, ConditionOptions condition) => spec with { Window = condition.Window };

    public override double Measure(ConditionSpec spec, SampleWindow? samples, double value, DateTimeOffset time, int level)
    {
        samples!.Add(time, value);
        samples.TrimBefore(time - spec.Window);
        return value - samples.OldestValue;
    }

    public override string Describe(ConditionSpec primary, AlertEvidence evidence, string label, string nodes, bool german)
    {
        string value = AlertText.Format(evidence.Unit, evidence.Value, german, magnitude: true);
        string threshold = FormatThreshold(evidence, german);
        return german
            ? $"{label} an {nodes}: innerhalb von {AlertText.Duration(primary.Window, true)} um {value} {(evidence.Value < 0 ? "gefallen" : "gestiegen")} (Schwelle {threshold})."
            : $"{label} at {nodes} {(evidence.Value < 0 ? "fell" : "rose")} by {value} within {AlertText.Duration(primary.Window, false)} (threshold {threshold}).";
    }

    protected override List<RateOfChangeRuleOptions> List(RulesOptions options) => options.RateOfChange;

    protected override double? Get(RateOfChangeRuleOptions rule, ThresholdKey key) => key == RiseKey ? rule.Rise : rule.Fall;

    protected override void Set(RateOfChangeRuleOptions rule, ThresholdKey key, double value) =>
        (rule.Rise, rule.Fall) = key == RiseKey ? ((double?)value, (double?)null) : (null, value);

    protected override void Check(RateOfChangeRuleOptions rule, string name, List<string> errors)
    {
        if (rule.Window <= TimeSpan.Zero)
        {
            errors.Add($"{name}:Window: {rule.Window} must be positive, e.g. 03:00:00");
        }
    }

    protected override void Apply(RateOfChangeRuleOptions copy, RuleOverrideOptions o) => copy.Window = o.Window ?? copy.Window;

    protected override ConditionSpec With(ConditionSpec spec, RateOfChangeRuleOptions rule) => spec with { Window = rule.Window };
}
