using System.Text.Json;
using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Rules;

/// <summary>Rule state after a restart: hazard condition states from the store, operator conditions from their active alerts.</summary>
public sealed partial class RuleEngine
{
    private void RestoreHazardStates(string? site)
    {
        foreach ((string key, byte[] data) in _store.LoadStates(site))
        {
            // h|rule|site|condition|node|sensor|quantity
            string[] p = key.Split('|');
            if (p.Length != 7 || p[0] != "h" || FindRule(p[1], p[2]) is not { } rule || p[5].EndsWith("~backlog", StringComparison.Ordinal))
            {
                // A backlog's state ends with its backlog; the next window of the live stream decides.
                continue;
            }

            ConditionSpec? spec = p[3] switch
            {
                "p" => rule.Primary,
                "f" => rule.FallbackSpec,
                _ when p[3].StartsWith('a') && int.TryParse(p[3].AsSpan(1), out int i) && i < rule.Also.Count => rule.Also[i],
                _ => null,
            };
            if (spec is null || spec.Quantity != p[6])
            {
                continue;
            }

            RuleNode rn = RuleNodeFor(rule, p[2], p[4]);
            var state = new ConditionState(spec) { StateKey = key, Site = p[2] };
            using JsonDocument doc = JsonDocument.Parse(data);
            if (!state.Restore(doc.RootElement))
            {
                continue;
            }

            Dictionary<string, ConditionState> into = p[3] switch
            {
                "p" => rn.Primary,
                "f" => rn.Fallback,
                _ => rn.Also[int.Parse(p[3].AsSpan(1), System.Globalization.CultureInfo.InvariantCulture)],
            };
            into[p[5]] = state;
            if (p[3] is "p" or "f" && state.Time > rn.LastWindow)
            {
                rn.LastWindow = state.Time;
            }
        }

        foreach (RuleNode rn in _ruleNodes.Values)
        {
            rn.Recompute();
            if (rn.LastWindow > rn.Subject.FlushedWindow)
            {
                rn.Subject.FlushedWindow = rn.LastWindow;
            }
        }
    }

    /// <summary>Operator alerts carry no history: an active one restores its condition as active. False for hazard rules.</summary>
    private bool RestoreOperatorState(ActiveAlert a, DateTimeOffset now)
    {
        OperatorRulesOptions o = _catalog.Operator;
        switch (a.Rule)
        {
            case NodeOfflineOptions.RuleId:
                NodeWatch node = Watch(a.Site, a.Subject, now);
                node.Offline ??= new ThresholdState(0.5, 0, o.NodeOffline.Hold, above: true);
                node.Offline.Restore(a.RaisedAt);
                return true;
            case SensorFailedOptions.RuleId:
                foreach (string sensor in a.Members.Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    Watch(a.Site, a.Subject, now).Sensor(sensor, o.SensorFailed.Hold).Failed.Restore(a.RaisedAt);
                }

                return true;
            case StaleDataOptions.RuleId:
                foreach (ChannelWatch c in MemberChannels(a, now))
                {
                    c.LastReceived = now;
                    c.Stale.Restore(a.RaisedAt);
                }

                return true;
            case ImplausibleDataOptions.RuleId:
                foreach (ChannelWatch c in MemberChannels(a, now))
                {
                    c.Implausible.Restore(a.RaisedAt);
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>The channels ("sensor/quantity") an operator alert rests on.</summary>
    private IEnumerable<ChannelWatch> MemberChannels(ActiveAlert a, DateTimeOffset now)
    {
        foreach (string channel in a.Members.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int slash = channel.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0)
            {
                yield return Watch(a.Site, a.Subject, now).Channel(channel[..slash], channel[(slash + 1)..]);
            }
        }
    }
}
