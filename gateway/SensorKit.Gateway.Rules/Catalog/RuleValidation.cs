using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// Checks one hazard rule (its kind's keys through <see cref="RuleKind"/>, stages, further conditions,
/// corroboration) and the operator rules, after the defaults are applied. Every error names the key.
/// </summary>
internal static class RuleValidation
{
    /// <summary>A public rule alerts per site and on two windows unless it says otherwise (and, for per node, why).</summary>
    public static void ApplyDefaults(HazardRuleOptions r, RuleDefaultsOptions defaults, string rule, List<string> errors)
    {
        bool isPublic = r.Audience == AlertAudience.Public;
        if (isPublic && r.Scope == RuleScope.Node && string.IsNullOrWhiteSpace(r.ScopeReason) && defaults.Scope == RuleScope.Site)
        {
            errors.Add($"{rule}:ScopeReason: a public rule that alerts per node must say why (one alert per site and hazard is what emergency services expect)");
        }

        if (r.Corroboration is not null && r.Scope == RuleScope.Node)
        {
            errors.Add($"{rule}:Scope: Node contradicts Corroboration, which makes one alert per site");
        }

        r.Scope ??= r.Corroboration is not null ? RuleScope.Site : isPublic ? defaults.Scope : RuleScope.Node;
        r.MinWindows ??= isPublic ? defaults.MinWindows : 1;
        if (r.MinWindows is < 1 or > 1000)
        {
            errors.Add($"{rule}:MinWindows: {r.MinWindows} is outside 1-1000");
        }
    }

    public static void Validate(HazardRuleOptions r, string rule, List<string> errors)
    {
        if (!Topics.IsValidLevel(r.Id))
        {
            errors.Add($"{rule}:Id: '{r.Id}' must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_'");
        }

        if (string.IsNullOrWhiteSpace(r.Quantity))
        {
            errors.Add($"{rule}:Quantity: is missing");
        }
        else if (!Topics.IsValidLevel(r.Quantity))
        {
            errors.Add($"{rule}:Quantity: '{r.Quantity}' is not a quantity name (a topic level)");
        }

        if (r.FallbackQuantity is { } fallback && (!Topics.IsValidLevel(fallback) || fallback == r.Quantity))
        {
            errors.Add($"{rule}:FallbackQuantity: '{fallback}' must be another quantity name");
        }

        RuleChecks.Filter(errors, rule, "Sensor", r.Sensor);
        RuleChecks.Filter(errors, rule, "Site", r.Site);
        RuleChecks.Amount(errors, rule, "Hysteresis", r.Hysteresis, allowZero: true);
        if (r.Hold < TimeSpan.Zero)
        {
            errors.Add($"{rule}:Hold: {r.Hold} must not be negative");
        }

        RuleChecks.OneOf(errors, rule, "Severity", r.Severity, RuleChecks.Severities);
        RuleChecks.OneOf(errors, rule, "Certainty", r.Certainty, RuleChecks.Certainties);
        RuleChecks.OneOf(errors, rule, "Urgency", r.Urgency, RuleChecks.Urgencies);
        if (!double.IsFinite(r.RadiusKm) || r.RadiusKm <= 0 || r.RadiusKm > 100)
        {
            errors.Add($"{rule}:RadiusKm: {r.RadiusKm} must be above 0 and at most 100 km");
        }

        if (r.Expires is { } expires && (expires <= TimeSpan.Zero || expires > AlertLimits.MaxExpires))
        {
            errors.Add($"{rule}:Expires: {expires} must be above 0 and at most {AlertLimits.MaxExpires.TotalDays:0} days");
        }

        foreach (string language in r.Text.Keys.Where(l => !AlertDefinition.Languages.Contains(l, StringComparer.Ordinal)))
        {
            errors.Add($"{rule}:Text:{language}: CAP texts are written in {string.Join(" and ", AlertDefinition.Languages)}");
        }

        RuleKind? kind = RuleKinds.Of(r);
        if (kind is null)
        {
            errors.Add($"{rule}: no rule kind is registered for {r.GetType().Name} (RuleKinds.All names every kind)");
            return;
        }

        string? primaryName = RuleChecks.ExactlyOne(errors, rule, [.. kind.Keys.Select(k => (k.Name, kind.Get(r, k)))]);
        ThresholdKey? primaryKey = kind.Keys.FirstOrDefault(k => k.Name == primaryName);
        double primary = primaryKey is null ? double.NaN : kind.Get(r, primaryKey)!.Value;
        if (primaryKey is not null)
        {
            kind.CheckPrimary(rule, primaryKey, primary, errors);
        }

        kind.CheckRule(r, rule, errors);

        double previous = primary;
        for (int i = 0; primaryKey is not null && i < r.Stages.Count; i++)
        {
            StageOptions s = r.Stages[i];
            string key = $"{rule}:Stages:{i}";
            double? value = primaryKey.Stage(s);
            int set = RuleKinds.AllKeys.Count(k => k.Stage(s) is not null);
            if (value is null || set != 1)
            {
                errors.Add($"{key}:{primaryKey.Name}: a stage sets {primaryKey.Name}, the same key as its rule, and nothing else");
                continue;
            }

            // Below thresholds fall with each stage; every other key grows.
            bool beyond = primaryKey.Descending ? value < previous : value > previous;
            if (!double.IsFinite(value.Value) || !beyond)
            {
                errors.Add($"{key}:{primaryKey.Name}: {value} must lie beyond the previous stage's {previous}");
            }

            previous = value.Value;
            RuleChecks.OneOf(errors, key, "Severity", s.Severity, RuleChecks.Severities);
            if (s.Certainty is not null)
            {
                RuleChecks.OneOf(errors, key, "Certainty", s.Certainty, RuleChecks.Certainties);
            }

            if (s.Urgency is not null)
            {
                RuleChecks.OneOf(errors, key, "Urgency", s.Urgency, RuleChecks.Urgencies);
            }

            foreach (string language in s.Text.Keys.Where(l => !AlertDefinition.Languages.Contains(l, StringComparer.Ordinal)))
            {
                errors.Add($"{key}:Text:{language}: CAP texts are written in {string.Join(" and ", AlertDefinition.Languages)}");
            }
        }

        for (int i = 0; i < r.Also.Count; i++)
        {
            ValidateCondition(r.Also[i], $"{rule}:Also:{i}", errors);
        }

        if (r.Corroboration is { } k)
        {
            string key = $"{rule}:Corroboration";
            if (k.Quorum < 1)
            {
                errors.Add($"{key}:Quorum: {k.Quorum} must be at least 1");
            }

            RuleChecks.OneOf(errors, key, "Severity", k.Severity, RuleChecks.Severities);
            RuleChecks.OneOf(errors, key, "Certainty", k.Certainty, RuleChecks.Certainties);
            if (k.Urgency is not null)
            {
                RuleChecks.OneOf(errors, key, "Urgency", k.Urgency, RuleChecks.Urgencies);
            }
        }
    }

    private static void ValidateCondition(ConditionOptions c, string key, List<string> errors)
    {
        if (!Topics.IsValidLevel(c.Quantity))
        {
            errors.Add($"{key}:Quantity: '{c.Quantity}' is not a quantity name (a topic level)");
        }

        RuleChecks.Filter(errors, key, "Sensor", c.Sensor);
        string? which = RuleChecks.ExactlyOne(errors, key, [.. RuleKinds.AllKeys.Select(k => (k.Name, k.Condition(c)))]);
        if (RuleKinds.AllKeys.FirstOrDefault(k => k.Name == which) is { } set)
        {
            RuleKinds.Owning(set).CheckCondition(c, key, set, errors);
        }

        RuleChecks.Amount(errors, key, "Hysteresis", c.Hysteresis, allowZero: true);
        if (c.Hold < TimeSpan.Zero)
        {
            errors.Add($"{key}:Hold: {c.Hold} must not be negative");
        }
    }

    public static void ValidateOperator(RulesOptions o, List<string> errors)
    {
        string key = $"{RulesOptions.Section}:Operator";
        if (o.Operator.CheckInterval <= TimeSpan.Zero)
        {
            errors.Add($"{key}:CheckInterval: {o.Operator.CheckInterval} must be positive");
        }

        if (o.Operator.NodeOffline.Heartbeat <= TimeSpan.Zero)
        {
            errors.Add($"{key}:NodeOffline:Heartbeat: {o.Operator.NodeOffline.Heartbeat} must be positive");
        }

        if (o.Operator.NodeOffline.Hold < TimeSpan.Zero)
        {
            errors.Add($"{key}:NodeOffline:Hold: {o.Operator.NodeOffline.Hold} must not be negative");
        }

        if (o.Operator.SensorFailed.Hold < TimeSpan.Zero)
        {
            errors.Add($"{key}:SensorFailed:Hold: {o.Operator.SensorFailed.Hold} must not be negative");
        }

        if (o.Operator.ImplausibleData.After <= TimeSpan.Zero)
        {
            errors.Add($"{key}:ImplausibleData:After: {o.Operator.ImplausibleData.After} must be positive");
        }

        if (o.Operator.StaleData.After <= TimeSpan.Zero)
        {
            errors.Add($"{key}:StaleData:After: {o.Operator.StaleData.After} must be positive");
        }
    }
}
