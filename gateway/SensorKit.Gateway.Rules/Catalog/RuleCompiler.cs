using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>Turns a validated rule (site overrides applied) into a <see cref="CompiledRule"/>: conditions with signed thresholds per level, and stages.</summary>
internal static class RuleCompiler
{
    public static CompiledRule Compile(HazardRuleOptions r, string site, IReadOnlySet<string> excluded)
    {
        RuleKind kind = RuleKinds.Of(r)!;
        ThresholdKey key = kind.Keys.First(k => kind.Get(r, k) is not null);
        double[] thresholds = [key.Signed(kind.Get(r, key)!.Value), .. r.Stages.Select(s => key.Signed(key.Stage(s)!.Value))];
        ConditionSpec primary = kind.WithParameters(Spec(r.Quantity, r.Sensor, kind, key, thresholds, r.Hysteresis, r.Hold), r) with { MinWindows = r.MinWindows ?? 1 };
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
        ThresholdKey key = RuleKinds.AllKeys.First(k => k.Condition(c) is not null);
        RuleKind kind = RuleKinds.Owning(key);
        return kind.WithParameters(Spec(c.Quantity, c.Sensor, kind, key, [key.Signed(key.Condition(c)!.Value)], c.Hysteresis, c.Hold), c);
    }

    private static ConditionSpec Spec(string quantity, string sensor, RuleKind kind, ThresholdKey key, double[] thresholds, double hysteresis, TimeSpan hold) =>
        new() { Quantity = quantity, Sensor = sensor, Kind = kind, Above = key.Above, Thresholds = thresholds, Hysteresis = hysteresis, Hold = hold };
}
