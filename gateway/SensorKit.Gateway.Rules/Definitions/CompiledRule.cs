using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>One level of a hazard rule: its CAP grading and texts.</summary>
internal sealed record Stage(
    AlertSeverity Severity,
    AlertCertainty Certainty,
    AlertUrgency Urgency,
    string Headline,
    IReadOnlyList<AlertResponse> ResponseTypes,
    IReadOnlyDictionary<string, RuleTextOptions> Text);

/// <summary>A validated hazard rule (threshold, rate of change or baseline), with its site overrides applied.</summary>
internal sealed class CompiledRule : AlertDefinition
{
    private readonly HazardRuleOptions _options;

    public CompiledRule(HazardRuleOptions options, ConditionSpec primary, IReadOnlyList<ConditionSpec> also, IReadOnlyList<Stage> stages, string site, IReadOnlySet<string> excludedSites)
    {
        _options = options;
        Primary = primary;
        Also = also;
        Stages = stages;
        Site = site;
        ExcludedSites = excludedSites;
        FallbackQuantity = options.FallbackQuantity;
        FallbackSpec = options.FallbackQuantity is { } fallback ? primary with { Quantity = fallback } : null;
        Corroboration = options.Corroboration;
    }

    public override string Id => _options.Id;

    public override AlertAudience Audience => _options.Audience;

    public override AlertCategory Category => _options.Category ?? (Audience == AlertAudience.Operator ? AlertCategory.Infra : AlertCategory.Met);

    public override string MeasureName => Primary.Kind.MeasureName;

    public override int Quorum => Corroboration?.Quorum ?? 1;

    public override double Hysteresis => Primary.Hysteresis;

    public override double RadiusKm => _options.RadiusKm;

    public ConditionSpec Primary { get; }

    public IReadOnlyList<ConditionSpec> Also { get; }

    public IReadOnlyList<Stage> Stages { get; }

    /// <summary>"*" or the one site the rule applies to.</summary>
    public string Site { get; }

    /// <summary>Sites that have their own copy of the rule (a site override).</summary>
    public IReadOnlySet<string> ExcludedSites { get; }

    public string? FallbackQuantity { get; }

    /// <summary>The primary condition on <see cref="FallbackQuantity"/>.</summary>
    public ConditionSpec? FallbackSpec { get; }

    /// <summary>Set when the rule gives one alert per site from k of n nodes; null for one alert per node.</summary>
    public CorroborationOptions? Corroboration { get; }

    public bool AppliesTo(string site) => (Site == "*" || Site == site) && !ExcludedSites.Contains(site);

    /// <summary>One alert per site (listing its nodes), or per node: Rules:Defaults:Scope, the rule's Scope, Corroboration.</summary>
    public bool IsArea => Corroboration is not null || _options.Scope == RuleScope.Site;

    /// <summary>The subject of the alert a node contributes to: the site for area rules, else the node.</summary>
    public string SubjectOf(string site, string node) => IsArea ? site : node;

    public override GradeInfo Describe(Grade grade)
    {
        Stage stage = Stages[Math.Clamp(grade.Level, 1, Stages.Count) - 1];
        if (Corroboration is { } c && !grade.Confirmed)
        {
            AlertUrgency urgency = c.Urgency is null ? stage.Urgency : Enum.Parse<AlertUrgency>(c.Urgency);
            return new GradeInfo(Enum.Parse<AlertSeverity>(c.Severity), Enum.Parse<AlertCertainty>(c.Certainty), urgency, [AlertResponse.Monitor]);
        }

        return new GradeInfo(stage.Severity, stage.Certainty, stage.Urgency, stage.ResponseTypes);
    }

    public override string Event(Grade grade, string language) =>
        Text(Stages[Math.Clamp(grade.Level, 1, Stages.Count) - 1].Text, language)?.Event
        ?? Text(_options.Text, language)?.Event
        ?? (IsGerman(language) ? $"Warnung {AlertText.QuantityLabel(Primary.Quantity, true)}" : $"{AlertText.QuantityLabel(Primary.Quantity, false)} warning");

    public override string Headline(Grade grade, string language, AlertEvidence evidence)
    {
        Stage stage = Stages[Math.Clamp(grade.Level, 1, Stages.Count) - 1];
        bool german = IsGerman(language);
        string? text = Text(stage.Text, language)?.Headline ?? Text(_options.Text, language)?.Headline;
        if (text is null && !german)
        {
            text = stage.Headline.Length > 0 ? stage.Headline : _options.Headline.Length > 0 ? _options.Headline : null;
        }

        text ??= german
            ? $"{AlertText.QuantityLabel(evidence.Quantity, true)}: Schwelle {Primary.Kind.FormatThreshold(evidence, true)} erreicht"
            : $"{AlertText.QuantityLabel(evidence.Quantity, false)}: threshold {Primary.Kind.FormatThreshold(evidence, false)} reached";
        if (Corroboration is not null && !grade.Confirmed && grade.IsActive)
        {
            text = (german ? "Unbestätigt: " : "Unconfirmed: ") + text;
        }

        return text;
    }

    public override TimeSpan? Expires => _options.Expires;

    public override string Instruction(Grade grade, string language)
    {
        Stage stage = Stages[Math.Clamp(grade.Level, 1, Stages.Count) - 1];
        bool german = IsGerman(language);

        // A rule without advice of its own still tells people something sensible to do (packs always give advice).
        return Text(stage.Text, language)?.Instruction ?? Text(_options.Text, language)?.Instruction ?? (Audience, german) switch
        {
            (AlertAudience.Operator, true) => "Messknoten und Sensor vor Ort prüfen.",
            (AlertAudience.Operator, false) => "Check the sensor node and its sensor on site.",
            (_, true) => "Aktuelle Meldungen der Behörden verfolgen.",
            _ => "Follow current announcements from the authorities.",
        };
    }

    public override string Description(Grade grade, string language, AlertEvidence evidence)
    {
        bool german = IsGerman(language);
        string label = AlertText.QuantityLabel(evidence.Quantity, german);
        string nodes = AlertText.Nodes(evidence.Nodes, german);
        string text = Primary.Kind.Describe(Primary, evidence, label, nodes, german);
        if (Corroboration is { } c && grade.IsActive)
        {
            int agreeing = evidence.Nodes.Count;
            text += grade.Confirmed
                ? german
                    ? $" {agreeing} von {evidence.NodesReporting} Messknoten des Standorts stimmen überein (nötig sind {c.Quorum})."
                    : $" {agreeing} of {evidence.NodesReporting} sensor nodes of the site agree ({c.Quorum} needed)."
                : german
                    ? $" Bisher meldet das nur {agreeing} von {evidence.NodesReporting} Messknoten; zur Bestätigung sind {c.Quorum} nötig."
                    : $" So far only {agreeing} of {evidence.NodesReporting} sensor nodes report it; {c.Quorum} are needed to confirm.";
        }

        return text;
    }

    private static RuleTextOptions? Text(IReadOnlyDictionary<string, RuleTextOptions> texts, string language) =>
        texts.TryGetValue(language, out RuleTextOptions? t) ? t : null;
}
