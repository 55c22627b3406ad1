using Microsoft.Extensions.Options;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>Evaluates every configured rule against incoming telemetry and produces alert lifecycle messages.</summary>
public sealed class RuleEngine(IOptions<RulesOptions> options, TimeProvider time)
{
    private readonly IReadOnlyList<ThresholdRuleOptions> _rules = options.Value.Threshold;
    private readonly Dictionary<(string Rule, string Site, string Node, string Sensor), ThresholdState> _states = [];
    private readonly Lock _lock = new();

    public IReadOnlyList<ThresholdRuleOptions> Rules => _rules;

    /// <summary>Alerts currently raised, by rule, site and subject.</summary>
    public int ActiveCount
    {
        get
        {
            lock (_lock)
            {
                return _states.Values.Count(s => s.Active);
            }
        }
    }

    public IReadOnlyList<AlertMessage> Evaluate(in TelemetryMessage m)
    {
        List<AlertMessage>? alerts = null;
        lock (_lock)
        {
            foreach (ThresholdRuleOptions rule in _rules)
            {
                if (rule.Quantity != m.Quantity || (rule.Sensor != "*" && rule.Sensor != m.Sensor) || (rule.Site != "*" && rule.Site != m.Site))
                {
                    continue;
                }

                var key = (rule.Id, m.Site, m.Node, m.Sensor);
                if (!_states.TryGetValue(key, out ThresholdState? state))
                {
                    state = new ThresholdState(rule.Threshold, rule.Hysteresis, rule.Hold, rule.Above is not null);
                    _states[key] = state;
                }

                DateTimeOffset? raisedAt = state.RaisedAt;
                Transition t = state.Evaluate(m.Mean, m.WindowEnd);
                if (t == Transition.None)
                {
                    continue;
                }

                DateTimeOffset raised = t == Transition.Raise ? state.RaisedAt!.Value : raisedAt!.Value;
                (alerts ??= []).Add(new AlertMessage
                {
                    AlertId = $"{m.Site}-{rule.Id}-{m.Node}-{raised.ToUnixTimeSeconds()}",
                    Rule = rule.Id,
                    State = t == Transition.Raise ? AlertState.Raised : AlertState.Cleared,
                    Audience = rule.Audience,
                    Site = m.Site,
                    Subject = m.Node,
                    Nodes = [m.Node],
                    Quantity = m.Quantity,
                    Unit = m.Unit,
                    Value = m.Mean,
                    Threshold = rule.Threshold,
                    Hysteresis = rule.Hysteresis,
                    Severity = t == Transition.Raise ? rule.Severity : "Minor",
                    Certainty = rule.Certainty,
                    Urgency = t == Transition.Raise ? rule.Urgency : "Past",
                    Headline = rule.Headline.Length > 0 ? rule.Headline : $"{rule.Id}: {m.Quantity} {(rule.Above is not null ? "above" : "below")} {rule.Threshold} {m.Unit}",
                    Time = time.GetUtcNow(),
                    RaisedAt = raised,
                    Revision = t == Transition.Raise ? 1 : 2,
                });
            }
        }

        return alerts ?? (IReadOnlyList<AlertMessage>)[];
    }
}
