namespace SensorKit.Gateway.Rules;

/// <summary>
/// Per-site changes to a rule (Rules:Sites:&lt;site&gt;:&lt;rule id&gt;, or a pack's Sites): a copy of the rule with
/// the override's keys applied, refused where a key belongs to another kind, and validated again.
/// </summary>
internal static class SiteOverrides
{
    public static HazardRuleOptions Apply(HazardRuleOptions rule, RuleOverrideOptions o, string key, List<string> errors)
    {
        HazardRuleOptions copy = rule.Copy();
        RuleKind kind = RuleKinds.Of(rule)!;
        void Wrong(string field, string expected) => errors.Add($"{key}:{field}: rule '{rule.Id}' is a {kind.Name} rule; set {expected}");

        copy.Enabled = o.Enabled ?? copy.Enabled;
        copy.Sensor = o.Sensor ?? copy.Sensor;
        copy.Hysteresis = o.Hysteresis ?? copy.Hysteresis;
        copy.Hold = o.Hold ?? copy.Hold;
        copy.Severity = o.Severity ?? copy.Severity;
        copy.Headline = o.Headline ?? copy.Headline;
        copy.RadiusKm = o.RadiusKm ?? copy.RadiusKm;
        copy.Stages = o.Stages ?? copy.Stages;
        if (o.Quorum is { } quorum)
        {
            if (copy.Corroboration is null)
            {
                errors.Add($"{key}:Quorum: rule '{rule.Id}' is evaluated per node; it has no Corroboration to set a quorum for");
            }
            else
            {
                copy.Corroboration = new CorroborationOptions { Quorum = quorum, Severity = copy.Corroboration.Severity, Certainty = copy.Corroboration.Certainty, Urgency = copy.Corroboration.Urgency };
            }
        }

        // The kind's threshold keys, in the order it lists them (Above then Below: the last one set wins).
        foreach (ThresholdKey k in kind.Keys)
        {
            if (k.Override(o) is { } value)
            {
                kind.Set(copy, k, value);
            }
        }

        kind.ApplyOverride(copy, o);
        string expected = string.Join(" or ", kind.Keys.Select(k => k.Name));
        foreach (ThresholdKey k in RuleKinds.AllKeys.Where(k => !kind.Keys.Contains(k) && k.Override(o) is not null))
        {
            Wrong(k.Name, expected);
        }

        foreach (RuleKind other in RuleKinds.All.Where(other => other != kind))
        {
            foreach (string field in other.OverrideKeys.Where(field => !kind.OverrideKeys.Contains(field) && other.Sets(o, field)))
            {
                Wrong(field, "the keys of its kind");
            }
        }

        RuleValidation.Validate(copy, key, errors);
        return copy;
    }
}
