using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Hosting;
using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// The rules in force: those of the "Rules" section plus the rule packs it names, with per-site overrides
/// applied, validated and compiled. Every error names where it comes from: the configuration key or the pack
/// file, the rule id, and the key inside the rule.
/// </summary>
public sealed class RuleCatalog
{
    private static readonly string[] Severities = ["Extreme", "Severe", "Moderate", "Minor", "Unknown"];
    private static readonly string[] Certainties = ["Observed", "Likely", "Possible", "Unlikely", "Unknown"];
    private static readonly string[] Urgencies = ["Immediate", "Expected", "Future", "Past", "Unknown"];

    private RuleCatalog(IReadOnlyList<CompiledRule> rules, OperatorRulesOptions operatorRules, TimeSpan settle, IReadOnlyList<string> errors)
    {
        Rules = rules;
        Operator = operatorRules;
        Settle = settle;
        Errors = errors;
    }

    internal IReadOnlyList<CompiledRule> Rules { get; }

    /// <summary>How many hazard rules are in force, site copies included.</summary>
    public int RuleCount => Rules.Count;

    public OperatorRulesOptions Operator { get; }

    public TimeSpan Settle { get; }

    public IReadOnlyList<string> Errors { get; }

    /// <summary>Ids of the hazard rules in force, site copies included once per site.</summary>
    public IEnumerable<string> RuleIds => Rules.Select(r => r.Site == "*" ? r.Id : $"{r.Id}@{r.Site}");

    public static RuleCatalog Create(IOptions<RulesOptions> options, IHostEnvironment environment) =>
        Load(options.Value, environment.ContentRootPath);

    /// <summary>Loads packs, applies overrides, validates and compiles; problems end up in <see cref="Errors"/>.</summary>
    public static RuleCatalog Load(RulesOptions options, string contentRoot)
    {
        var errors = new List<string>();
        var sources = new List<(HazardRuleOptions Rule, string Key)>();
        var sites = options.Sites.ToDictionary(s => s.Key, s => new Dictionary<string, RuleOverrideOptions>(s.Value, StringComparer.Ordinal), StringComparer.Ordinal);
        Collect(options, $"{RulesOptions.Section}:", sources);

        for (int i = 0; i < options.Packs.Count; i++)
        {
            string packKey = $"{RulesOptions.Section}:Packs:{i}";
            string? path = ResolvePack(options, options.Packs[i], contentRoot);
            if (path is null || !File.Exists(path))
            {
                errors.Add($"{packKey}: rule pack '{options.Packs[i]}' not found{(path is null ? string.Empty : $" (looked for {Path.GetRelativePath(contentRoot, path)})")}");
                continue;
            }

            // Shown relative to the gateway when inside it (RulePacks/heat/rules.json), else as configured.
            string relative = Path.GetRelativePath(contentRoot, path).Replace('\\', '/');
            string shown = relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
            RulesOptions? pack = ReadPack(path, shown, errors);
            if (pack is null)
            {
                continue;
            }

            if (pack.Packs.Count > 0)
            {
                errors.Add($"{shown}: Packs: a rule pack cannot load other packs");
            }

            Collect(pack, $"{shown}: ", sources);
            foreach ((string site, Dictionary<string, RuleOverrideOptions> overrides) in pack.Sites)
            {
                if (!sites.TryGetValue(site, out Dictionary<string, RuleOverrideOptions>? mine))
                {
                    sites[site] = mine = new Dictionary<string, RuleOverrideOptions>(StringComparer.Ordinal);
                }

                foreach ((string rule, RuleOverrideOptions o) in overrides)
                {
                    // Keys the configuration sets for the same rule and site win over the pack's.
                    mine[rule] = mine.TryGetValue(rule, out RuleOverrideOptions? own) ? RuleOverrideOptions.Merge(o, own) : o;
                }
            }
        }

        var byId = new Dictionary<string, (HazardRuleOptions Rule, string Key)>(StringComparer.Ordinal);
        var valid = new List<(HazardRuleOptions Rule, string Key)>();
        foreach ((HazardRuleOptions rule, string key) in sources)
        {
            string name = Name(rule, key);
            if (Topics.IsValidLevel(rule.Id) && !byId.TryAdd(rule.Id, (rule, key)))
            {
                errors.Add($"{name}:Id: already defined at {byId[rule.Id].Key}");
                continue;
            }

            int before = errors.Count;
            ApplyDefaults(rule, options.Defaults, name, errors);
            Validate(rule, name, errors);
            if (errors.Count == before)
            {
                valid.Add((rule, key));
            }
        }

        var compiled = new List<CompiledRule>();
        foreach ((HazardRuleOptions rule, string key) in valid)
        {
            HazardRuleOptions global = rule;
            if (sites.TryGetValue("*", out Dictionary<string, RuleOverrideOptions>? all) && all.TryGetValue(rule.Id, out RuleOverrideOptions? everywhere))
            {
                global = ApplyChecked(rule, everywhere, $"{RulesOptions.Section}:Sites:*:{rule.Id}", errors);
            }

            var excluded = new HashSet<string>(StringComparer.Ordinal);
            foreach ((string site, Dictionary<string, RuleOverrideOptions> overrides) in sites)
            {
                if (site == "*" || !overrides.TryGetValue(rule.Id, out RuleOverrideOptions? o))
                {
                    continue;
                }

                string oKey = $"{RulesOptions.Section}:Sites:{site}:{rule.Id}";
                if (rule.Site != "*" && rule.Site != site)
                {
                    errors.Add($"{oKey}: rule '{rule.Id}' only applies to site '{rule.Site}'");
                    continue;
                }

                excluded.Add(site);
                HazardRuleOptions local = ApplyChecked(global, o, oKey, errors);
                if (local.Enabled)
                {
                    compiled.Add(Compile(local, site, new HashSet<string>()));
                }
            }

            if (global.Enabled)
            {
                compiled.Add(Compile(global, global.Site, excluded));
            }
        }

        foreach ((string site, Dictionary<string, RuleOverrideOptions> overrides) in sites)
        {
            if (site != "*" && !Topics.IsValidLevel(site))
            {
                errors.Add($"{RulesOptions.Section}:Sites:{site}: '{site}' is not a site id (1-64 characters of a-z, A-Z, 0-9, '-' or '_') or '*'");
            }

            foreach (string id in overrides.Keys.Where(id => !byId.ContainsKey(id)))
            {
                errors.Add($"{RulesOptions.Section}:Sites:{site}:{id}: there is no rule '{id}'");
            }
        }

        ValidateOperator(options, errors);
        if (options.Settle < TimeSpan.Zero)
        {
            errors.Add($"{RulesOptions.Section}:Settle: {options.Settle} must not be negative");
        }

        return new RuleCatalog(errors.Count == 0 ? compiled : [], options.Operator, options.Settle, errors);
    }

    private static void Collect(RulesOptions o, string prefix, List<(HazardRuleOptions, string)> into)
    {
        for (int i = 0; i < o.Threshold.Count; i++)
        {
            into.Add((o.Threshold[i], $"{prefix}Threshold:{i}"));
        }

        for (int i = 0; i < o.RateOfChange.Count; i++)
        {
            into.Add((o.RateOfChange[i], $"{prefix}RateOfChange:{i}"));
        }

        for (int i = 0; i < o.Baseline.Count; i++)
        {
            into.Add((o.Baseline[i], $"{prefix}Baseline:{i}"));
        }
    }

    private static string? ResolvePack(RulesOptions options, string pack, string contentRoot)
    {
        if (string.IsNullOrWhiteSpace(pack))
        {
            return null;
        }

        if (pack.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || pack.Contains('/', StringComparison.Ordinal) || pack.Contains('\\', StringComparison.Ordinal))
        {
            return Path.GetFullPath(pack, contentRoot);
        }

        return Path.GetFullPath(Path.Combine(options.PackDirectory, pack, "rules.json"), contentRoot);
    }

    private static RulesOptions? ReadPack(string path, string shown, List<string> errors)
    {
        try
        {
            IConfigurationRoot config = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
            int before = errors.Count;
            FindUnknownKeys(config, typeof(RulesOptions), $"{shown}: ", errors);
            var pack = new RulesOptions();
            config.Bind(pack, o => o.ErrorOnUnknownConfiguration = true);
            return errors.Count == before ? pack : null;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException or IOException)
        {
            // Binder and JSON parser messages name the key or the line; keep the innermost, most specific one.
            string message = e.InnerException is { } inner && e.Message.Contains("Failed to convert", StringComparison.Ordinal)
                ? $"{e.Message} ({inner.Message})"
                : e.InnerException?.Message ?? e.Message;
            errors.Add($"{shown}: {message}");
            return null;
        }
    }

    /// <summary>
    /// Reports keys that bind to nothing, e.g. a misspelt "Abvoe", which the configuration binder would silently
    /// ignore, leaving a rule that never fires; with the keys that would bind there.
    /// </summary>
    public static void FindUnknownKeys(IConfiguration section, Type type, string path, List<string> errors)
    {
        foreach (UnknownKey key in StrictConfiguration.Find(section, type, path, EntryName))
        {
            errors.Add($"{key.Path}: unknown key; known here: {string.Join(", ", StrictConfiguration.KnownKeys(key.Owner))}");
        }
    }

    /// <summary>Rules are named by their id too, so an error points at the rule as well as the index.</summary>
    public static string EntryName(IConfigurationSection entry, Type type) =>
        typeof(HazardRuleOptions).IsAssignableFrom(type) && entry["Id"] is { } id ? $"{entry.Key} (rule '{id}')" : entry.Key;

    private static string Name(HazardRuleOptions r, string key) => string.IsNullOrEmpty(r.Id) ? key : $"{key} (rule '{r.Id}')";

    /// <summary>A public rule alerts per site and on two windows unless it says otherwise (and, for per node, why).</summary>
    private static void ApplyDefaults(HazardRuleOptions r, RuleDefaultsOptions defaults, string rule, List<string> errors)
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

    private static void Validate(HazardRuleOptions r, string rule, List<string> errors)
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

        CheckFilter(errors, rule, "Sensor", r.Sensor);
        CheckFilter(errors, rule, "Site", r.Site);
        CheckAmount(errors, rule, "Hysteresis", r.Hysteresis, allowZero: true);
        if (r.Hold < TimeSpan.Zero)
        {
            errors.Add($"{rule}:Hold: {r.Hold} must not be negative");
        }

        Check(errors, rule, "Severity", r.Severity, Severities);
        Check(errors, rule, "Certainty", r.Certainty, Certainties);
        Check(errors, rule, "Urgency", r.Urgency, Urgencies);
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

        string? primaryKey;
        double primary;
        switch (r)
        {
            case ThresholdRuleOptions t:
                primaryKey = ExactlyOne(errors, rule, ("Above", t.Above), ("Below", t.Below));
                primary = t.Threshold;
                break;
            case RateOfChangeRuleOptions c:
                primaryKey = ExactlyOne(errors, rule, ("Rise", c.Rise), ("Fall", c.Fall));
                primary = c.Rise ?? c.Fall ?? double.NaN;
                if (primaryKey is not null)
                {
                    CheckAmount(errors, rule, primaryKey, primary, allowZero: false);
                }

                if (c.Window <= TimeSpan.Zero)
                {
                    errors.Add($"{rule}:Window: {c.Window} must be positive, e.g. 03:00:00");
                }

                break;
            case BaselineRuleOptions b:
                primaryKey = ExactlyOne(errors, rule, ("DropPercent", b.DropPercent), ("RisePercent", b.RisePercent));
                primary = b.DropPercent ?? b.RisePercent ?? double.NaN;
                if (primaryKey is not null)
                {
                    CheckPercent(errors, rule, primaryKey, primary, b.DropPercent is not null);
                }

                CheckBaseline(errors, rule, b.Baseline, b.MinBaseline);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(r), r.GetType().Name, "unknown rule kind");
        }

        double previous = primary;
        for (int i = 0; primaryKey is not null && i < r.Stages.Count; i++)
        {
            StageOptions s = r.Stages[i];
            string key = $"{rule}:Stages:{i}";
            double? value = primaryKey switch
            {
                "Above" => s.Above,
                "Below" => s.Below,
                "Rise" => s.Rise,
                "Fall" => s.Fall,
                "DropPercent" => s.DropPercent,
                _ => s.RisePercent,
            };
            int set = new[] { s.Above, s.Below, s.Rise, s.Fall, s.DropPercent, s.RisePercent }.Count(v => v is not null);
            if (value is null || set != 1)
            {
                errors.Add($"{key}:{primaryKey}: a stage sets {primaryKey}, the same key as its rule, and nothing else");
                continue;
            }

            // Below thresholds fall with each stage; every other key grows.
            bool beyond = primaryKey == "Below" ? value < previous : value > previous;
            if (!double.IsFinite(value.Value) || !beyond)
            {
                errors.Add($"{key}:{primaryKey}: {value} must lie beyond the previous stage's {previous}");
            }

            previous = value.Value;
            Check(errors, key, "Severity", s.Severity, Severities);
            if (s.Certainty is not null)
            {
                Check(errors, key, "Certainty", s.Certainty, Certainties);
            }

            if (s.Urgency is not null)
            {
                Check(errors, key, "Urgency", s.Urgency, Urgencies);
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

            Check(errors, key, "Severity", k.Severity, Severities);
            Check(errors, key, "Certainty", k.Certainty, Certainties);
            if (k.Urgency is not null)
            {
                Check(errors, key, "Urgency", k.Urgency, Urgencies);
            }
        }
    }

    private static void ValidateCondition(ConditionOptions c, string key, List<string> errors)
    {
        if (!Topics.IsValidLevel(c.Quantity))
        {
            errors.Add($"{key}:Quantity: '{c.Quantity}' is not a quantity name (a topic level)");
        }

        CheckFilter(errors, key, "Sensor", c.Sensor);
        string? which = ExactlyOne(errors, key, ("Above", c.Above), ("Below", c.Below), ("Rise", c.Rise), ("Fall", c.Fall), ("DropPercent", c.DropPercent), ("RisePercent", c.RisePercent));
        switch (which)
        {
            case "Rise" or "Fall":
                CheckAmount(errors, key, which, (c.Rise ?? c.Fall)!.Value, allowZero: false);
                if (c.Window <= TimeSpan.Zero)
                {
                    errors.Add($"{key}:Window: {c.Window} must be positive for {which}");
                }

                break;
            case "DropPercent" or "RisePercent":
                CheckPercent(errors, key, which, (c.DropPercent ?? c.RisePercent)!.Value, c.DropPercent is not null);
                CheckBaseline(errors, key, c.Baseline, c.MinBaseline);
                break;
            case "Above" or "Below":
                if (!double.IsFinite((c.Above ?? c.Below)!.Value))
                {
                    errors.Add($"{key}:{which}: must be a finite number");
                }

                break;
        }

        CheckAmount(errors, key, "Hysteresis", c.Hysteresis, allowZero: true);
        if (c.Hold < TimeSpan.Zero)
        {
            errors.Add($"{key}:Hold: {c.Hold} must not be negative");
        }
    }

    private static void ValidateOperator(RulesOptions o, List<string> errors)
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

    private static HazardRuleOptions ApplyChecked(HazardRuleOptions rule, RuleOverrideOptions o, string key, List<string> errors)
    {
        HazardRuleOptions copy = rule.Copy();
        void Wrong(string field, string expected) => errors.Add($"{key}:{field}: rule '{rule.Id}' is a {Kind(rule)} rule; set {expected}");

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

        switch (copy)
        {
            case ThresholdRuleOptions t:
                if (o.Above is { } above)
                {
                    (t.Above, t.Below) = (above, null);
                }

                if (o.Below is { } below)
                {
                    (t.Above, t.Below) = (null, below);
                }

                Refuse(o.Rise, "Rise", "Above or Below");
                Refuse(o.Fall, "Fall", "Above or Below");
                Refuse(o.DropPercent, "DropPercent", "Above or Below");
                Refuse(o.RisePercent, "RisePercent", "Above or Below");
                break;
            case RateOfChangeRuleOptions c:
                if (o.Rise is { } rise)
                {
                    (c.Rise, c.Fall) = (rise, null);
                }

                if (o.Fall is { } fall)
                {
                    (c.Rise, c.Fall) = (null, fall);
                }

                c.Window = o.Window ?? c.Window;
                Refuse(o.Above, "Above", "Rise or Fall");
                Refuse(o.Below, "Below", "Rise or Fall");
                Refuse(o.DropPercent, "DropPercent", "Rise or Fall");
                Refuse(o.RisePercent, "RisePercent", "Rise or Fall");
                break;
            case BaselineRuleOptions b:
                if (o.DropPercent is { } drop)
                {
                    (b.DropPercent, b.RisePercent) = (drop, null);
                }

                if (o.RisePercent is { } risePercent)
                {
                    (b.DropPercent, b.RisePercent) = (null, risePercent);
                }

                b.Baseline = o.Baseline ?? b.Baseline;
                Refuse(o.Above, "Above", "DropPercent or RisePercent");
                Refuse(o.Below, "Below", "DropPercent or RisePercent");
                Refuse(o.Rise, "Rise", "DropPercent or RisePercent");
                Refuse(o.Fall, "Fall", "DropPercent or RisePercent");
                break;
        }

        if (o.Window is not null && copy is not RateOfChangeRuleOptions)
        {
            Wrong("Window", "the keys of its kind");
        }

        if (o.Baseline is not null && copy is not BaselineRuleOptions)
        {
            Wrong("Baseline", "the keys of its kind");
        }

        Validate(copy, key, errors);
        return copy;

        void Refuse(double? value, string field, string expected)
        {
            if (value is not null)
            {
                Wrong(field, expected);
            }
        }
    }

    private static string Kind(HazardRuleOptions r) => r switch
    {
        ThresholdRuleOptions => "threshold",
        RateOfChangeRuleOptions => "rate-of-change",
        _ => "baseline",
    };

    private static CompiledRule Compile(HazardRuleOptions r, string site, IReadOnlySet<string> excluded)
    {
        ConditionSpec primary = (r switch
        {
            ThresholdRuleOptions t => Spec(r.Quantity, r.Sensor, Measure.Value, t.Above is not null, [t.Threshold, .. r.Stages.Select(s => (s.Above ?? s.Below)!.Value)], r.Hysteresis, r.Hold),
            RateOfChangeRuleOptions c => Spec(r.Quantity, r.Sensor, Measure.Change, c.Rise is not null, [c.Rise ?? -c.Fall!.Value, .. r.Stages.Select(s => s.Rise ?? -s.Fall!.Value)], r.Hysteresis, r.Hold) with { Window = c.Window },
            BaselineRuleOptions b => Spec(r.Quantity, r.Sensor, Measure.Deviation, b.RisePercent is not null, [b.RisePercent ?? -b.DropPercent!.Value, .. r.Stages.Select(s => s.RisePercent ?? -s.DropPercent!.Value)], r.Hysteresis, r.Hold) with { Baseline = b.Baseline, MinBaseline = b.MinBaseline },
            _ => throw new ArgumentOutOfRangeException(nameof(r)),
        }) with { MinWindows = r.MinWindows ?? 1 };
        ConditionSpec[] also = [.. r.Also.Select(CompileCondition)];
        var stages = new List<Stage>
        {
            new(Enum.Parse<AlertSeverity>(r.Severity), Enum.Parse<AlertCertainty>(r.Certainty), Enum.Parse<AlertUrgency>(r.Urgency), r.Headline, r.ResponseTypes.Count > 0 ? r.ResponseTypes : DefaultResponse(r), r.Text),
        };
        foreach (StageOptions s in r.Stages)
        {
            stages.Add(new Stage(
                Enum.Parse<AlertSeverity>(s.Severity),
                s.Certainty is null ? stages[0].Certainty : Enum.Parse<AlertCertainty>(s.Certainty),
                s.Urgency is null ? stages[0].Urgency : Enum.Parse<AlertUrgency>(s.Urgency),
                s.Headline,
                s.ResponseTypes ?? stages[0].ResponseTypes,
                s.Text));
        }

        return new CompiledRule(r, primary, also, stages, site, excluded);
    }

    private static AlertResponse[] DefaultResponse(HazardRuleOptions r) => r.Audience == AlertAudience.Operator ? [AlertResponse.Assess] : [AlertResponse.Monitor];

    private static ConditionSpec CompileCondition(ConditionOptions c)
    {
        if (c.Above is { } above)
        {
            return Spec(c.Quantity, c.Sensor, Measure.Value, true, [above], c.Hysteresis, c.Hold);
        }

        if (c.Below is { } below)
        {
            return Spec(c.Quantity, c.Sensor, Measure.Value, false, [below], c.Hysteresis, c.Hold);
        }

        if (c.Rise is not null || c.Fall is not null)
        {
            return Spec(c.Quantity, c.Sensor, Measure.Change, c.Rise is not null, [c.Rise ?? -c.Fall!.Value], c.Hysteresis, c.Hold) with { Window = c.Window };
        }

        return Spec(c.Quantity, c.Sensor, Measure.Deviation, c.RisePercent is not null, [c.RisePercent ?? -c.DropPercent!.Value], c.Hysteresis, c.Hold) with { Baseline = c.Baseline, MinBaseline = c.MinBaseline };
    }

    private static ConditionSpec Spec(string quantity, string sensor, Measure measure, bool above, double[] thresholds, double hysteresis, TimeSpan hold) =>
        new() { Quantity = quantity, Sensor = sensor, Measure = measure, Above = above, Thresholds = thresholds, Hysteresis = hysteresis, Hold = hold };

    /// <summary>The one key set among <paramref name="options"/>; null (and an error) when none or several are.</summary>
    private static string? ExactlyOne(List<string> errors, string rule, params (string Key, double? Value)[] options)
    {
        var set = options.Where(o => o.Value is not null).ToArray();
        if (set.Length != 1)
        {
            errors.Add($"{rule}:{options[0].Key}: set exactly one of {string.Join(", ", options.Select(o => o.Key))}");
            return null;
        }

        if (!double.IsFinite(set[0].Value!.Value))
        {
            errors.Add($"{rule}:{set[0].Key}: must be a finite number");
            return null;
        }

        return set[0].Key;
    }

    private static void CheckAmount(List<string> errors, string rule, string key, double value, bool allowZero)
    {
        if (!double.IsFinite(value) || value < 0 || (!allowZero && value == 0))
        {
            errors.Add($"{rule}:{key}: {value} must be {(allowZero ? "zero or positive" : "positive")}");
        }
    }

    private static void CheckPercent(List<string> errors, string rule, string key, double value, bool drop)
    {
        if (!double.IsFinite(value) || value <= 0 || (drop && value >= 100))
        {
            errors.Add($"{rule}:{key}: {value} must be above 0{(drop ? " and below 100" : string.Empty)} (percent)");
        }
    }

    private static void CheckBaseline(List<string> errors, string rule, TimeSpan baseline, TimeSpan minBaseline)
    {
        if (baseline <= TimeSpan.Zero)
        {
            errors.Add($"{rule}:Baseline: {baseline} must be positive, e.g. 06:00:00");
        }

        if (minBaseline < TimeSpan.Zero || minBaseline > baseline)
        {
            errors.Add($"{rule}:MinBaseline: {minBaseline} must lie between 0 and Baseline ({baseline})");
        }
    }

    private static void CheckFilter(List<string> errors, string rule, string key, string value)
    {
        if (value != "*" && !Topics.IsValidLevel(value))
        {
            errors.Add($"{rule}:{key}: '{value}' must be '*' or an id (1-64 characters of a-z, A-Z, 0-9, '-' or '_')");
        }
    }

    private static void Check(List<string> errors, string rule, string key, string value, string[] allowed)
    {
        if (!allowed.Contains(value, StringComparer.Ordinal))
        {
            errors.Add($"{rule}:{key}: '{value}' is not one of {string.Join(", ", allowed)} (CAP 1.2 §3.2.2)");
        }
    }
}

/// <summary>Validates the "Rules" section at start by loading it as the gateway will, packs included.</summary>
/// <remarks>Keys that bind to nothing are refused earlier, by the binder (<c>BindStrictly</c> in the gateway's host).</remarks>
public sealed class RulesOptionsValidator(IHostEnvironment environment) : IValidateOptions<RulesOptions>
{
    public ValidateOptionsResult Validate(string? name, RulesOptions options)
    {
        IReadOnlyList<string> errors = RuleCatalog.Load(options, environment.ContentRootPath).Errors;
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
