using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Rules;

public sealed partial class RulesOptions
{
    /// <summary>Threshold rules (<see cref="ThresholdKind"/>).</summary>
    public List<ThresholdRuleOptions> Threshold { get; set; } = [];
}

/// <summary>Raises when the window mean stays at or beyond <see cref="Above"/> (or <see cref="Below"/>) for Hold.</summary>
public sealed class ThresholdRuleOptions : HazardRuleOptions
{
    public double? Above { get; set; }

    public double? Below { get; set; }

    public double Threshold => Above ?? Below ?? double.NaN;
}

/// <summary>The window mean itself against its thresholds.</summary>
internal sealed class ThresholdKind : RuleKind<ThresholdRuleOptions>
{
    private static readonly ThresholdKey AboveKey = new("Above", Above: true, Negated: false, s => s.Above, c => c.Above, o => o.Above);
    private static readonly ThresholdKey BelowKey = new("Below", Above: false, Negated: false, s => s.Below, c => c.Below, o => o.Below);

    // After the keys: static fields are set in order, and the instance lists them.
    public static readonly ThresholdKind Instance = new();

    private ThresholdKind()
    {
    }

    public override string Name => "threshold";

    public override string Section => "Threshold";

    public override string MeasureName => "value";

    public override IReadOnlyList<ThresholdKey> Keys { get; } = [AboveKey, BelowKey];

    public override bool Signed => false;

    public override void CheckCondition(ConditionOptions condition, string name, ThresholdKey key, List<string> errors)
    {
        if (!double.IsFinite(key.Condition(condition)!.Value))
        {
            errors.Add($"{name}:{key.Name}: must be a finite number");
        }
    }

    public override string Describe(ConditionSpec primary, AlertEvidence evidence, string label, string nodes, bool german)
    {
        string value = AlertText.Format(evidence.Unit, evidence.Value, german, magnitude: false);
        string threshold = FormatThreshold(evidence, german);
        return german ? $"{label} an {nodes}: {value} (Schwelle {threshold})." : $"{label} at {nodes}: {value} (threshold {threshold}).";
    }

    protected override List<ThresholdRuleOptions> List(RulesOptions options) => options.Threshold;

    protected override double? Get(ThresholdRuleOptions rule, ThresholdKey key) => key == AboveKey ? rule.Above : rule.Below;

    protected override void Set(ThresholdRuleOptions rule, ThresholdKey key, double value) =>
        (rule.Above, rule.Below) = key == AboveKey ? ((double?)value, (double?)null) : (null, value);
}
