using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// One key that sets a kind's threshold: the same name in a rule, a stage, a further condition (<c>Also</c>) and a
/// site override. <see cref="Above"/>: the measure must reach the threshold from below.
/// </summary>
/// <param name="Name">The key, e.g. "Above".</param>
/// <param name="Above">True when the measure must be at or above the threshold.</param>
/// <param name="Negated">True when the key holds a magnitude of a signed measure (Fall, DropPercent): compiled as its negative.</param>
/// <param name="Stage">The key in a stage.</param>
/// <param name="Condition">The key in a further condition.</param>
/// <param name="Override">The key in a site override.</param>
internal sealed record ThresholdKey(
    string Name,
    bool Above,
    bool Negated,
    Func<StageOptions, double?> Stage,
    Func<ConditionOptions, double?> Condition,
    Func<RuleOverrideOptions, double?> Override)
{
    /// <summary>Stages of this key lie further down (Below), every other key's grow.</summary>
    public bool Descending => !Above && !Negated;

    /// <summary>The threshold as compared with the measure.</summary>
    public double Signed(double value) => Negated ? -value : value;
}

/// <summary>
/// Everything one kind of hazard rule (threshold, rate of change, baseline, …) does, in one place: the list it is
/// configured in, its keys and their checks, how a site override changes it, what it compiles to, how its measure
/// is computed from the windows, and how its alert describes it. A new kind is one class deriving from
/// <see cref="RuleKind{TOptions}"/> (with its options type and its list in <see cref="RulesOptions"/>, both in the
/// kind's own file) plus one line in <see cref="RuleKinds.All"/>. docs/architecture.md#add-a-rule-kind.
/// </summary>
internal abstract class RuleKind
{
    /// <summary>The kind's name in messages: "threshold".</summary>
    public abstract string Name { get; }

    /// <summary>The list the kind's rules are configured in, in the Rules section and in rule packs: "Threshold".</summary>
    public abstract string Section { get; }

    /// <summary>The measure's name on the wire ("measure" of docs/protocol.md): "value", "change", "deviation".</summary>
    public abstract string MeasureName { get; }

    /// <summary>The keys that set the kind's threshold, in the order messages name them; a rule sets exactly one.</summary>
    public abstract IReadOnlyList<ThresholdKey> Keys { get; }

    /// <summary>The kind's own keys of a site override beyond its threshold keys (Window, Baseline).</summary>
    public virtual IReadOnlyList<string> OverrideKeys => [];

    /// <summary>True when the measure needs the history of window means (<see cref="SampleWindow"/>).</summary>
    public virtual bool KeepsHistory => false;

    /// <summary>True when the measure's sign says the direction and texts show its magnitude (a change, a deviation).</summary>
    public virtual bool Signed => true;

    /// <summary>The options type of the kind's rules.</summary>
    public abstract Type OptionsType { get; }

    /// <summary>The kind's rules in <paramref name="options"/>.</summary>
    public abstract IReadOnlyList<HazardRuleOptions> RulesIn(RulesOptions options);

    /// <summary>The value of <paramref name="key"/> in a rule of this kind.</summary>
    public abstract double? Get(HazardRuleOptions rule, ThresholdKey key);

    /// <summary>Sets <paramref name="key"/> and unsets the kind's other keys (a site override switching Above to Below).</summary>
    public abstract void Set(HazardRuleOptions rule, ThresholdKey key, double value);

    /// <summary>Checks the primary value of a rule, once exactly one key is set.</summary>
    public virtual void CheckPrimary(string rule, ThresholdKey key, double value, List<string> errors)
    {
    }

    /// <summary>Checks the kind's own keys of a rule (a window, a baseline).</summary>
    public virtual void CheckRule(HazardRuleOptions rule, string name, List<string> errors)
    {
    }

    /// <summary>Checks a further condition of this kind (<paramref name="key"/> is the one set).</summary>
    public abstract void CheckCondition(ConditionOptions condition, string name, ThresholdKey key, List<string> errors);

    /// <summary>Applies the kind's own keys of a site override beyond its threshold keys.</summary>
    public virtual void ApplyOverride(HazardRuleOptions copy, RuleOverrideOptions o)
    {
    }

    /// <summary>True when <paramref name="o"/> sets <paramref name="overrideKey"/> (one of <see cref="OverrideKeys"/>).</summary>
    public virtual bool Sets(RuleOverrideOptions o, string overrideKey) => false;

    /// <summary>The kind's parameters on a compiled condition (a window, a baseline).</summary>
    public virtual ConditionSpec WithParameters(ConditionSpec spec, HazardRuleOptions rule) => spec;

    /// <summary>The same for a further condition.</summary>
    public virtual ConditionSpec WithParameters(ConditionSpec spec, ConditionOptions condition) => spec;

    /// <summary>The measure of one window mean, compared with the thresholds; NaN when it cannot be told yet.</summary>
    /// <param name="spec">The condition.</param>
    /// <param name="samples">The history of window means when <see cref="KeepsHistory"/>, else null.</param>
    /// <param name="value">The window mean.</param>
    /// <param name="time">The window end.</param>
    /// <param name="level">The condition's level before this window.</param>
    public virtual double Measure(ConditionSpec spec, SampleWindow? samples, double value, DateTimeOffset time, int level) => value;

    /// <summary>After a window was compared: what the history keeps of it beyond <see cref="Measure"/>.</summary>
    public virtual void Evaluated(ConditionSpec spec, SampleWindow? samples, double value, double measured, DateTimeOffset time, int level)
    {
    }

    /// <summary>The unit of an alert's value: the quantity's, or the measure's own ("%").</summary>
    public virtual string EvidenceUnit(string? unit) => unit ?? string.Empty;

    /// <summary>The sentence that says what was measured, in German or English.</summary>
    /// <param name="primary">The rule's primary condition.</param>
    /// <param name="evidence">The facts.</param>
    /// <param name="label">The quantity's name.</param>
    /// <param name="nodes">The nodes, in words.</param>
    /// <param name="german">German or English.</param>
    public abstract string Describe(ConditionSpec primary, AlertEvidence evidence, string label, string nodes, bool german);

    /// <summary>A threshold in words: a magnitude for signed measures.</summary>
    public string FormatThreshold(AlertEvidence evidence, bool german) => AlertText.Format(evidence.Unit, evidence.Threshold, german, Signed);
}

/// <summary>A rule kind whose rules are configured as <typeparamref name="TOptions"/>.</summary>
internal abstract class RuleKind<TOptions> : RuleKind
    where TOptions : HazardRuleOptions
{
    public override Type OptionsType => typeof(TOptions);

    public override IReadOnlyList<HazardRuleOptions> RulesIn(RulesOptions options) => List(options);

    public override double? Get(HazardRuleOptions rule, ThresholdKey key) => Get((TOptions)rule, key);

    public override void Set(HazardRuleOptions rule, ThresholdKey key, double value) => Set((TOptions)rule, key, value);

    public override void CheckRule(HazardRuleOptions rule, string name, List<string> errors) => Check((TOptions)rule, name, errors);

    public override void ApplyOverride(HazardRuleOptions copy, RuleOverrideOptions o) => Apply((TOptions)copy, o);

    public override ConditionSpec WithParameters(ConditionSpec spec, HazardRuleOptions rule) => With(spec, (TOptions)rule);

    protected abstract List<TOptions> List(RulesOptions options);

    protected abstract double? Get(TOptions rule, ThresholdKey key);

    protected abstract void Set(TOptions rule, ThresholdKey key, double value);

    protected virtual void Check(TOptions rule, string name, List<string> errors)
    {
    }

    protected virtual void Apply(TOptions copy, RuleOverrideOptions o)
    {
    }

    protected virtual ConditionSpec With(ConditionSpec spec, TOptions rule) => spec;
}

/// <summary>The registry of rule kinds: one line per kind. Their order is the order of the keys in messages.</summary>
internal static class RuleKinds
{
    public static readonly IReadOnlyList<RuleKind> All =
    [
        ThresholdKind.Instance,
        RateOfChangeKind.Instance,
        BaselineKind.Instance,
    ];

    /// <summary>Every threshold key of every kind, in registry order.</summary>
    public static readonly IReadOnlyList<ThresholdKey> AllKeys = [.. All.SelectMany(k => k.Keys)];

    /// <summary>The kind of a rule's options; null for an options type no kind is registered for.</summary>
    public static RuleKind? Of(HazardRuleOptions rule) => All.FirstOrDefault(k => k.OptionsType == rule.GetType());

    /// <summary>The kind a threshold key belongs to.</summary>
    public static RuleKind Owning(ThresholdKey key) => All.First(k => k.Keys.Contains(key));
}
