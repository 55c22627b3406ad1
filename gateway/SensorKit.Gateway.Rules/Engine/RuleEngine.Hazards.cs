using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>Hazard rules: conditions per channel, levels per node, grades per subject (a node, or a site for k-of-n), settling of area rules, backfill after an outage.</summary>
public sealed partial class RuleEngine
{
    private const QualityFlags Unusable = QualityFlags.OutOfRange | QualityFlags.Stuck | QualityFlags.Stale;

    /// <summary>Windows the node measured but could not vouch for: a sensor stuck on one value, or outside its range.</summary>
    private const QualityFlags Implausible = QualityFlags.OutOfRange | QualityFlags.Stuck;

    /// <summary>How long a backlog may pause before it counts as ended.</summary>
    private static readonly TimeSpan BackfillIdle = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A backlog has reached the live stream (or stopped): its condition states end, and where one of them holds a
    /// raised level or a pending hold that the live state lacks, the live state takes it over, so an alert the
    /// backlog raised is not cleared and raised again, and a hold that began in the backlog is not started afresh.
    /// </summary>
    private void EndBackfill(NodeWatch node, ChannelWatch channel, DateTimeOffset now, long received)
    {
        channel.InBackfill = false;
        foreach (RuleNode rn in _ruleNodes.Values)
        {
            if (rn.Site != node.Site || rn.Node != node.Node)
            {
                continue;
            }

            bool changed = false;
            foreach (Dictionary<string, ConditionState> states in rn.AllStates())
            {
                if (!states.Remove(channel.BackfillKey, out ConditionState? backlog))
                {
                    continue;
                }

                _dirty.Remove(backlog);
                if (states.TryGetValue(channel.Sensor, out ConditionState? live))
                {
                    live.TakeOver(backlog);
                    _dirty.Add(live);
                }
                else
                {
                    // No live window reached this rule yet: the backlog's state is all there is.
                    states[channel.Sensor] = backlog;
                }

                changed = true;
            }

            if (changed && rn.Recompute())
            {
                rn.Subject.Dirty = true;
            }

            if (changed && rn.Subject.Dirty && !rn.Subject.Pending)
            {
                Flush(rn.Subject, channel.LastEnd ?? now, received);
            }
        }
    }

    /// <param name="m">The window.</param>
    /// <param name="now">The gateway clock.</param>
    /// <param name="received">Arrival timestamp, for the latency measurement.</param>
    /// <param name="stateKey">Where the channel's condition state lives: the sensor id, or its backlog's key.</param>
    private void EvaluateHazards(in TelemetryMessage m, DateTimeOffset now, long received, string stateKey)
    {
        // Indexed, not foreach over the interface: this runs for every message and must not allocate an enumerator.
        for (int r = 0; r < _rules.Length; r++)
        {
            CompiledRule rule = _rules[r];
            if (!rule.AppliesTo(m.Site))
            {
                continue;
            }

            bool primary = rule.Primary.Quantity == m.Quantity && rule.Primary.MatchesSensor(m.Sensor);
            bool fallback = !primary && rule.FallbackSpec is { } f && f.Quantity == m.Quantity && f.MatchesSensor(m.Sensor);
            bool also = false;
            for (int i = 0; i < rule.Also.Count; i++)
            {
                also |= rule.Also[i].Quantity == m.Quantity && rule.Also[i].MatchesSensor(m.Sensor);
            }

            if (!primary && !fallback && !also)
            {
                continue;
            }

            RuleNode rn = RuleNodeFor(rule, m.Site, m.Node);
            HazardSubject subject = rn.Subject;
            bool reports = primary || fallback;
            if (reports && subject.IsArea && subject.Pending && m.WindowEnd > subject.Window)
            {
                // A newer window began: what the previous one changed goes out first.
                Flush(subject, now, received);
            }

            if (primary)
            {
                Evaluate(rn, rn.Primary, rule.Primary, "p", m, stateKey);
            }
            else if (fallback)
            {
                Evaluate(rn, rn.Fallback, rule.FallbackSpec!, "f", m, stateKey);
            }

            for (int i = 0; i < rule.Also.Count; i++)
            {
                if (rule.Also[i].Quantity == m.Quantity && rule.Also[i].MatchesSensor(m.Sensor))
                {
                    Evaluate(rn, rn.Also[i], rule.Also[i], AlsoKey(i), m, stateKey);
                }
            }

            if (reports && m.WindowEnd > rn.LastWindow)
            {
                rn.LastWindow = m.WindowEnd;
            }

            if (rn.Recompute())
            {
                subject.Dirty = true;
            }

            if (!subject.IsArea || _catalog.Settle == TimeSpan.Zero)
            {
                if (subject.Dirty)
                {
                    Flush(subject, m.WindowEnd, received);
                }

                continue;
            }

            if (reports)
            {
                Report(subject, m.Node, m.WindowEnd, now, received);
            }
            else if (subject.Dirty && !subject.Pending)
            {
                StartPending(subject, m.WindowEnd, now);
            }
        }
    }

    private void Evaluate(RuleNode rn, Dictionary<string, ConditionState> states, ConditionSpec spec, string condition, in TelemetryMessage m, string stateKey)
    {
        if (!states.TryGetValue(stateKey, out ConditionState? state))
        {
            state = new ConditionState(spec) { StateKey = StateKey(rn, condition, stateKey, m.Quantity), Site = rn.Site };
            states.Add(stateKey, state);
        }

        if (m.WindowEnd <= state.Time)
        {
            // Seen before a restart (the broker's retained copy): the state already holds it.
            return;
        }

        state.Evaluate(m.Mean, m.WindowEnd, m.Unit);
        _dirty.Add(state);
    }

    private void Report(HazardSubject subject, string node, DateTimeOffset window, DateTimeOffset now, long received)
    {
        if (window <= subject.FlushedWindow)
        {
            // A straggler of a window already published.
            if (subject.Dirty)
            {
                Flush(subject, window, received);
            }

            return;
        }

        if (!subject.Pending)
        {
            StartPending(subject, window, now);
        }

        subject.Reported.Add(node);
        if (subject.FlushedWindow == DateTimeOffset.MinValue)
        {
            // The first window of an area: who else belongs to it shows only now, so it waits the settle time.
            return;
        }

        foreach (RuleNode rn in subject.Nodes.Values)
        {
            bool expected = rn.LastWindow >= subject.FlushedWindow && _nodes.TryGetValue((rn.Site, rn.Node), out NodeWatch? w) && w.State == NodeState.Online;
            if (expected && !subject.Reported.Contains(rn.Node))
            {
                return;
            }
        }

        Flush(subject, window, received);
    }

    private void StartPending(HazardSubject subject, DateTimeOffset window, DateTimeOffset now)
    {
        subject.Pending = true;
        subject.PendingSince = now;
        subject.Window = window;
        subject.Reported.Clear();
        _pending.Add(subject);
    }

    /// <summary>Publishes the subject's grade if it differs from the alert's last one.</summary>
    private void Flush(HazardSubject subject, DateTimeOffset eventTime, long received)
    {
        if (subject.Pending)
        {
            // Telemetry time, also when the gateway clock ends the wait: a replay gives the same timeline.
            eventTime = subject.Window;
            subject.Pending = false;
            subject.FlushedWindow = subject.Window;
            _pending.Remove(subject);
        }

        subject.Dirty = false;
        CompiledRule rule = subject.Rule;
        Grade grade = GradeOf(subject);
        Grade current = _alerts.Current(rule.Id, subject.Site, subject.Subject);
        if (grade == current)
        {
            return;
        }

        TakeStep(new AlertStep(rule, subject.Site, subject.Subject, grade, Evidence(subject, grade, current), eventTime, received));
    }

    private Grade GradeOf(HazardSubject subject)
    {
        _scratch.Clear();
        foreach (RuleNode rn in subject.Nodes.Values)
        {
            if (rn.Level > 0)
            {
                _scratch.Add(rn);
            }
        }

        if (_scratch.Count == 0)
        {
            return Grade.None;
        }

        if (!subject.IsArea)
        {
            return new Grade(_scratch[0].Level, true, _scratch[0].Node);
        }

        _scratch.Sort(static (a, b) => b.Level != a.Level ? b.Level.CompareTo(a.Level) : string.CompareOrdinal(a.Node, b.Node));
        int quorum = subject.Rule.Quorum;
        int confirmed = _scratch.Count >= quorum ? _scratch[quorum - 1].Level : 0;
        string members = string.Join(',', _scratch.Select(n => n.Node).Order(StringComparer.Ordinal));
        return confirmed > 0 ? new Grade(confirmed, true, members) : new Grade(_scratch[0].Level, false, members);
    }

    /// <param name="subject">The nodes behind the alert.</param>
    /// <param name="grade">The grade to publish.</param>
    /// <param name="current">The grade published last; when the alert ends, its nodes say what the values were.</param>
    private static AlertEvidence Evidence(HazardSubject subject, Grade grade, Grade current)
    {
        CompiledRule rule = subject.Rule;
        var nodes = new List<string>();
        RuleNode? lead = null;
        RuleNode? latest = null;
        string[] before = current.Members.Split(',');
        foreach (RuleNode rn in subject.Nodes.Values)
        {
            if (rn.Lead is null)
            {
                continue;
            }

            // The latest value of the nodes that carried the alert, not of some bystander of the same site.
            if ((latest is null || rn.Lead.Time > latest.Lead!.Time) && (grade.IsActive || before.Contains(rn.Node)))
            {
                latest = rn;
            }

            if (rn.Level > 0)
            {
                nodes.Add(rn.Node);
                if (lead is null || RuleNode.Weighs(rn.Lead, lead.Lead!, rule.Primary.Above))
                {
                    lead = rn;
                }
            }
        }

        nodes.Sort(StringComparer.Ordinal);
        ConditionState? state = (lead ?? latest)?.Lead;
        return new AlertEvidence
        {
            Nodes = nodes,
            Quantity = state?.Spec.Quantity ?? rule.Primary.Quantity,
            Unit = rule.Primary.Kind.EvidenceUnit(state?.Unit),
            Value = state?.Measured ?? double.NaN,
            Threshold = rule.Primary.Thresholds[Math.Max(grade.Level, 1) - 1],
            NodesReporting = Math.Max(1, subject.Nodes.Values.Count(n => n.Lead is not null)),
        };
    }

    private static string StateKey(RuleNode rn, string condition, string sensor, string quantity) =>
        $"h|{rn.Rule.Id}|{rn.Site}|{condition}|{rn.Node}|{sensor}|{quantity}";

    private static string AlsoKey(int i) => i switch
    {
        0 => "a0",
        1 => "a1",
        2 => "a2",
        _ => "a" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
