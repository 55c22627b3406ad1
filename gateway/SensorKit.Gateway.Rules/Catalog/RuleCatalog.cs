using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Hosting;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// The rules in force: those of the "Rules" section plus the rule packs it names, with per-site overrides
/// applied, validated and compiled. Every error names where it comes from: the configuration key or the pack
/// file, the rule id, and the key inside the rule. The steps live beside it: <see cref="RulePacks"/> (finding and
/// reading packs), <see cref="RuleValidation"/>, <see cref="SiteOverrides"/>, <see cref="RuleCompiler"/>; what
/// differs between kinds of rule is in their <see cref="RuleKind"/>.
/// </summary>
public sealed class RuleCatalog
{
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
        Collect(options, $"{RulesOptions.Section}:", sources, errors);

        for (int i = 0; i < options.Packs.Count; i++)
        {
            string packKey = $"{RulesOptions.Section}:Packs:{i}";
            string? path = RulePacks.Resolve(options, options.Packs[i], contentRoot);
            if (path is null || !File.Exists(path))
            {
                errors.Add($"{packKey}: rule pack '{options.Packs[i]}' not found{(path is null ? string.Empty : $" (looked for {Path.GetRelativePath(contentRoot, path)})")}");
                continue;
            }

            // Shown relative to the gateway when inside it (RulePacks/heat/rules.json), else as configured.
            string relative = Path.GetRelativePath(contentRoot, path).Replace('\\', '/');
            string shown = relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
            RulesOptions? pack = RulePacks.Read(path, shown, errors);
            if (pack is null)
            {
                continue;
            }

            if (pack.Packs.Count > 0)
            {
                errors.Add($"{shown}: Packs: a rule pack cannot load other packs");
            }

            Collect(pack, $"{shown}: ", sources, errors);
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
            RuleValidation.ApplyDefaults(rule, options.Defaults, name, errors);
            RuleValidation.Validate(rule, name, errors);
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
                global = SiteOverrides.Apply(rule, everywhere, $"{RulesOptions.Section}:Sites:*:{rule.Id}", errors);
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
                HazardRuleOptions local = SiteOverrides.Apply(global, o, oKey, errors);
                if (local.Enabled)
                {
                    compiled.Add(RuleCompiler.Compile(local, site, new HashSet<string>()));
                }
            }

            if (global.Enabled)
            {
                compiled.Add(RuleCompiler.Compile(global, global.Site, excluded));
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

        RuleValidation.ValidateOperator(options, errors);
        if (options.Settle < TimeSpan.Zero)
        {
            errors.Add($"{RulesOptions.Section}:Settle: {options.Settle} must not be negative");
        }

        return new RuleCatalog(errors.Count == 0 ? compiled : [], options.Operator, options.Settle, errors);
    }

    /// <summary>
    /// The rules of every registered kind, each with its key (e.g. "Rules:Threshold:0"). A list of rules in
    /// <see cref="RulesOptions"/> that no kind is registered for is an error at each of its rules, naming the key.
    /// </summary>
    private static void Collect(RulesOptions o, string prefix, List<(HazardRuleOptions, string)> into, List<string> errors)
    {
        foreach (RuleKind kind in RuleKinds.All)
        {
            IReadOnlyList<HazardRuleOptions> rules = kind.RulesIn(o);
            for (int i = 0; i < rules.Count; i++)
            {
                into.Add((rules[i], $"{prefix}{kind.Section}:{i}"));
            }
        }

        foreach ((string section, IReadOnlyList<HazardRuleOptions> rules) in UnregisteredLists(o))
        {
            for (int i = 0; i < rules.Count; i++)
            {
                errors.Add($"{prefix}{section}:{i}: '{section}' is no registered rule kind (RuleKinds.All names every kind)");
            }
        }
    }

    /// <summary>Lists of rules in <see cref="RulesOptions"/> whose section no registered kind reads.</summary>
    internal static IEnumerable<(string Section, IReadOnlyList<HazardRuleOptions> Rules)> UnregisteredLists(RulesOptions o)
    {
        foreach (System.Reflection.PropertyInfo p in typeof(RulesOptions).GetProperties())
        {
            if (p.GetValue(o) is IEnumerable<HazardRuleOptions> list && !RuleKinds.All.Any(k => k.Section == p.Name))
            {
                yield return (p.Name, [.. list]);
            }
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

