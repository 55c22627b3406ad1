using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// Configuration section "Rules" (docs/rules.md). A rule pack file (RulePacks/&lt;pack&gt;/rules.json) has the
/// same shape, without <see cref="Packs"/>, so a rule reads the same wherever it is written.
/// </summary>
/// <remarks>
/// Partial: each rule kind's file (Kinds/) adds the list its rules are configured in (Threshold, RateOfChange,
/// Baseline), so a kind is one file plus its line in <see cref="RuleKinds.All"/>.
/// </remarks>
public sealed partial class RulesOptions
{
    public const string Section = "Rules";

    /// <summary>Rule packs to load: a pack name under <see cref="PackDirectory"/>, or a path to a rules.json.</summary>
    public List<string> Packs { get; set; } = [];

    /// <summary>Where pack names are looked up; relative paths start at the gateway's content root.</summary>
    public string PackDirectory { get; set; } = "RulePacks";

    /// <summary>Per-site changes to any rule, by site id (or "*" for every site) and rule id.</summary>
    public Dictionary<string, Dictionary<string, RuleOverrideOptions>> Sites { get; set; } = new(StringComparer.Ordinal);

    public OperatorRulesOptions Operator { get; set; } = new();

    /// <summary>What a public rule does where it says nothing itself: one alert per site, raised on two windows.</summary>
    public RuleDefaultsOptions Defaults { get; set; } = new();

    /// <summary>
    /// How long a rule that corroborates across an area waits for the other nodes' aggregate of the same window
    /// before it publishes a change, so agreeing nodes give one message, not a raise and an update a second apart.
    /// </summary>
    public TimeSpan Settle { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>What every hazard rule has: the watched quantity, the alert it raises, its text and its corroboration.</summary>
public abstract class HazardRuleOptions
{
    public string Id { get; set; } = string.Empty;

    /// <summary>False switches the rule off (useful in a per-site override).</summary>
    public bool Enabled { get; set; } = true;

    public string Quantity { get; set; } = string.Empty;

    /// <summary>Used for nodes that do not publish <see cref="Quantity"/>, e.g. air temperature where no heat index is measured.</summary>
    public string? FallbackQuantity { get; set; }

    /// <summary>A sensor id to limit the rule to, or "*".</summary>
    public string Sensor { get; set; } = "*";

    /// <summary>A site to limit the rule to, or "*".</summary>
    public string Site { get; set; } = "*";

    /// <summary>How far back past the threshold the measure must go to clear; ≥ 0, in the measure's unit.</summary>
    public double Hysteresis { get; set; }

    /// <summary>How long a crossing must last before it counts, both ways.</summary>
    public TimeSpan Hold { get; set; } = TimeSpan.Zero;

    /// <summary>CAP 1.2 §3.2.2 values: Extreme, Severe, Moderate, Minor, Unknown.</summary>
    public string Severity { get; set; } = "Moderate";

    /// <summary>CAP: Observed, Likely, Possible, Unlikely, Unknown.</summary>
    public string Certainty { get; set; } = "Observed";

    /// <summary>CAP: Immediate, Expected, Future, Past, Unknown.</summary>
    public string Urgency { get; set; } = "Immediate";

    /// <summary>One line for people, in English; the JSON alert carries it. CAP uses <see cref="Text"/> per language.</summary>
    public string Headline { get; set; } = string.Empty;

    public AlertAudience Audience { get; set; } = AlertAudience.Public;

    /// <summary>CAP 1.2 §3.2.2 category; Met when not set (CAP counts floods as Met), Infra for operator rules.</summary>
    public AlertCategory? Category { get; set; }

    /// <summary>CAP 1.2 §3.2.2 responseType values for the public while the alert is active.</summary>
    public List<AlertResponse> ResponseTypes { get; set; } = [];

    /// <summary>Event, headline and instruction per CAP language ("de-DE", "en-US").</summary>
    public Dictionary<string, RuleTextOptions> Text { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Radius around each triggering node that the CAP area covers.</summary>
    public double RadiusKm { get; set; } = 1.0;

    /// <summary>How long a CAP message of an active alert of this rule is valid; unset: Cap:Expires.</summary>
    public TimeSpan? Expires { get; set; }

    /// <summary>Further thresholds of the same measure, each beyond the previous one, with a higher severity.</summary>
    public List<StageOptions> Stages { get; set; } = [];

    /// <summary>Conditions on other quantities of the same node that must hold as well (all of them).</summary>
    public List<ConditionOptions> Also { get; set; } = [];

    /// <summary>Set to evaluate the rule across all nodes of a site instead of per node (k of n).</summary>
    public CorroborationOptions? Corroboration { get; set; }

    /// <summary>
    /// Site: one alert per site and hazard, listing the nodes that support it (the default of public rules).
    /// Node: one alert per node (the default of operator rules); a public rule must say why in <see cref="ScopeReason"/>.
    /// </summary>
    public RuleScope? Scope { get; set; }

    /// <summary>Why a public rule alerts per node rather than per site, e.g. "each node watches one shelter room".</summary>
    public string? ScopeReason { get; set; }

    /// <summary>
    /// Consecutive windows beyond the threshold before the alert is raised, whatever Hold says: one implausible window
    /// (a wave, a bird on the gauge) never reaches the public. Default Rules:Defaults:MinWindows for public rules, 1 for operator rules.
    /// </summary>
    public int? MinWindows { get; set; }

    /// <summary>A copy to apply a site override to; lists are copied, their items shared (overrides replace lists whole).</summary>
    internal HazardRuleOptions Copy()
    {
        var copy = (HazardRuleOptions)MemberwiseClone();
        copy.ResponseTypes = [.. ResponseTypes];
        copy.Text = new Dictionary<string, RuleTextOptions>(Text, StringComparer.Ordinal);
        copy.Stages = [.. Stages];
        copy.Also = [.. Also];
        return copy;
    }
}

public enum RuleScope
{
    Site,
    Node,
}

/// <summary>Configuration section "Rules:Defaults".</summary>
public sealed class RuleDefaultsOptions
{
    /// <summary>The scope of public rules that set none.</summary>
    public RuleScope Scope { get; set; } = RuleScope.Site;

    /// <summary>The windows in a row public rules need before they raise, unless they set their own.</summary>
    public int MinWindows { get; set; } = 2;
}

/// <summary>
/// A further condition of a rule on another quantity of the same node. Set exactly one of Above, Below
/// (threshold), Rise, Fall (with Window) or DropPercent, RisePercent (with Baseline).
/// </summary>
public sealed partial class ConditionOptions
{
    public string Quantity { get; set; } = string.Empty;

    public string Sensor { get; set; } = "*";

    public double? Above { get; set; }

    public double? Below { get; set; }

    public double? Rise { get; set; }

    public double? Fall { get; set; }

    public TimeSpan Window { get; set; }

    public double? DropPercent { get; set; }

    public double? RisePercent { get; set; }

    public TimeSpan Baseline { get; set; } = TimeSpan.FromHours(6);

    public TimeSpan MinBaseline { get; set; } = TimeSpan.FromHours(1);

    public double Hysteresis { get; set; }

    public TimeSpan Hold { get; set; } = TimeSpan.Zero;
}

/// <summary>
/// A further threshold of a rule's own measure: set the same key as the rule (Above, Below, Rise, Fall,
/// DropPercent or RisePercent), beyond the previous stage.
/// </summary>
public sealed partial class StageOptions
{
    public double? Above { get; set; }

    public double? Below { get; set; }

    public double? Rise { get; set; }

    public double? Fall { get; set; }

    public double? DropPercent { get; set; }

    public double? RisePercent { get; set; }

    public string Severity { get; set; } = "Severe";

    /// <summary>Defaults to the rule's.</summary>
    public string? Certainty { get; set; }

    /// <summary>Defaults to the rule's.</summary>
    public string? Urgency { get; set; }

    public string Headline { get; set; } = string.Empty;

    /// <summary>Defaults to the rule's.</summary>
    public List<AlertResponse>? ResponseTypes { get; set; }

    /// <summary>Per language; a missing field falls back to the rule's text.</summary>
    public Dictionary<string, RuleTextOptions> Text { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// k of n: one alert per site; while fewer than <see cref="Quorum"/> nodes agree it carries the low
/// <see cref="Severity"/> and <see cref="Certainty"/> here, from <see cref="Quorum"/> nodes on the rule's own.
/// </summary>
public sealed class CorroborationOptions
{
    public int Quorum { get; set; } = 2;

    public string Severity { get; set; } = "Minor";

    public string Certainty { get; set; } = "Possible";

    /// <summary>Defaults to the rule's.</summary>
    public string? Urgency { get; set; }
}

/// <summary>CAP text of a rule or stage in one language.</summary>
public sealed class RuleTextOptions
{
    /// <summary>CAP event: the kind of hazard, e.g. "Hitze" / "Heat".</summary>
    public string? Event { get; set; }

    public string? Headline { get; set; }

    /// <summary>What people should do; CAP instruction.</summary>
    public string? Instruction { get; set; }
}

/// <summary>
/// A per-site change to a rule (Rules:Sites:&lt;site&gt;:&lt;rule id&gt;). Only what is set changes;
/// <see cref="Stages"/> replaces the rule's stages as a whole.
/// </summary>
public sealed partial class RuleOverrideOptions
{
    public bool? Enabled { get; set; }

    public string? Sensor { get; set; }

    public double? Above { get; set; }

    public double? Below { get; set; }

    public double? Rise { get; set; }

    public double? Fall { get; set; }

    public TimeSpan? Window { get; set; }

    public double? DropPercent { get; set; }

    public double? RisePercent { get; set; }

    public TimeSpan? Baseline { get; set; }

    public double? Hysteresis { get; set; }

    public TimeSpan? Hold { get; set; }

    public string? Severity { get; set; }

    public string? Headline { get; set; }

    public double? RadiusKm { get; set; }

    public int? Quorum { get; set; }

    public List<StageOptions>? Stages { get; set; }

    /// <summary>The keys of <paramref name="over"/> where set, else those of <paramref name="under"/>.</summary>
    internal static RuleOverrideOptions Merge(RuleOverrideOptions under, RuleOverrideOptions over) => new()
    {
        Enabled = over.Enabled ?? under.Enabled,
        Sensor = over.Sensor ?? under.Sensor,
        Above = over.Above ?? (over.Below is null ? under.Above : null),
        Below = over.Below ?? (over.Above is null ? under.Below : null),
        Rise = over.Rise ?? (over.Fall is null ? under.Rise : null),
        Fall = over.Fall ?? (over.Rise is null ? under.Fall : null),
        Window = over.Window ?? under.Window,
        DropPercent = over.DropPercent ?? (over.RisePercent is null ? under.DropPercent : null),
        RisePercent = over.RisePercent ?? (over.DropPercent is null ? under.RisePercent : null),
        Baseline = over.Baseline ?? under.Baseline,
        Hysteresis = over.Hysteresis ?? under.Hysteresis,
        Hold = over.Hold ?? under.Hold,
        Severity = over.Severity ?? under.Severity,
        Headline = over.Headline ?? under.Headline,
        RadiusKm = over.RadiusKm ?? under.RadiusKm,
        Quorum = over.Quorum ?? under.Quorum,
        Stages = over.Stages ?? under.Stages,
    };
}
