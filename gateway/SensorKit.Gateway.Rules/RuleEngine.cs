using System.Text.Json;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// Evaluates the rules in force against telemetry and node status, and moves alerts through their lifecycle.
/// Hazard rules run on the telemetry's own time (window ends), so a replay gives the same timeline; operator
/// rules (node offline, sensor failed, stale data) and the settling of area rules run on the gateway's clock.
/// </summary>
/// <remarks>
/// Per channel (node, sensor, quantity) each condition keeps its own state; per rule and node the conditions
/// give a level; per rule and subject (a node, or a site for k-of-n rules) the levels give the alert's grade.
/// Any change of the grade is one alert step. All of it runs under one lock: messages arrive one at a time
/// anyway, and alert steps must be ordered.
/// </remarks>
public sealed partial class RuleEngine : ITelemetryEvaluator, IAlertCommands
{
    private const QualityFlags Unusable = QualityFlags.OutOfRange | QualityFlags.Stuck | QualityFlags.Stale;

    /// <summary>Windows the node measured but could not vouch for: a sensor stuck on one value, or outside its range.</summary>
    private const QualityFlags Implausible = QualityFlags.OutOfRange | QualityFlags.Stuck;

    /// <summary>How long a backlog may pause before it counts as ended.</summary>
    private static readonly TimeSpan BackfillIdle = TimeSpan.FromMinutes(2);

    /// <summary>A node that says "failed" has failed at least this many reads in a row (docs/protocol.md).</summary>
    private const int FailedAfter = 3;

    private readonly RuleCatalog _catalog;
    private readonly CompiledRule[] _rules;
    private readonly IAlertSink _alerts;
    private readonly IRuleStateStore _store;
    private readonly IFleet _fleet;
    private readonly TimeProvider _time;
    private readonly ILogger<RuleEngine> _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Site, string Node), NodeWatch> _nodes = [];
    private readonly Dictionary<(string Rule, string Site, string Node), RuleNode> _ruleNodes = [];
    private readonly Dictionary<(string Rule, string Site, string Subject), HazardSubject> _subjects = [];
    private readonly List<HazardSubject> _pending = [];
    private readonly HashSet<IPersistentState> _dirty = [];
    private readonly List<RuleNode> _scratch = [];

    public RuleEngine(RuleCatalog catalog, IAlertSink alerts, IRuleStateStore store, IFleet fleet, TimeProvider time, ILogger<RuleEngine> logger)
    {
        _catalog = catalog;
        _rules = [.. catalog.Rules];
        _alerts = alerts;
        _store = store;
        _fleet = fleet;
        _time = time;
        _logger = logger;
    }

    public RuleCatalog Catalog => _catalog;

    /// <summary>Alerts currently active (published and not ended).</summary>
    public int ActiveCount
    {
        get
        {
            lock (_lock)
            {
                return _alerts.ActiveAlertIds.Count;
            }
        }
    }

    public IReadOnlyList<string> ActiveAlertIds
    {
        get
        {
            lock (_lock)
            {
                return _alerts.ActiveAlertIds;
            }
        }
    }

    /// <summary>
    /// Loads what the state store holds: node statuses, active alerts (and queues what a restart must resend),
    /// and the rule state; withdraws alerts whose rule is no longer configured.
    /// </summary>
    public void Restore()
    {
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            foreach (NodeStatusMessage s in _fleet.Restore())
            {
                NodeWatch w = Watch(s.Site, s.Node, now);
                w.State = s.State;
                w.Status = s;
            }

            IReadOnlyList<ActiveAlert> active = _alerts.Restore();
            RestoreHazardStates();
            var orphans = new List<ActiveAlert>();
            foreach (ActiveAlert a in active)
            {
                if (!RestoreOperatorState(a, now) && Definition(a.Rule, a.Site) is null)
                {
                    orphans.Add(a);
                }
            }

            foreach (ActiveAlert a in orphans)
            {
                var retired = new RetiredDefinition(a.Rule, a.Audience);
                if (a.Cancelled)
                {
                    // Already withdrawn: nothing to tell anyone, only the record to drop.
                    AlertEvidence e = a.Evidence;
                    var none = new AlertEvidence { Nodes = e.Nodes, Quantity = e.Quantity, Unit = e.Unit, Value = e.Value, Threshold = e.Threshold };
                    _alerts.Apply(new AlertStep(retired, a.Site, a.Subject, Grade.None, none, now, 0), _dirty);
                    continue;
                }

                LogRetired(a.AlertId, a.Rule);
                if (_alerts.Cancel(retired, a.AlertId, $"rule '{a.Rule}' is no longer configured", _dirty))
                {
                    _dirty.Clear();
                }
            }

            // A change that had not gone out when the gateway stopped (an area still settling) goes out with the
            // next window of data, never on stored state alone.
            foreach (HazardSubject s in _subjects.Values)
            {
                s.Dirty = GradeOf(s) != _alerts.Current(s.Rule.Id, s.Site, s.Subject);
            }
        }
    }

    /// <summary>Evaluates one validated telemetry message from a known node.</summary>
    public TelemetryOutcome OnTelemetry(in TelemetryMessage m, long receivedTimestamp = 0)
    {
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            NodeWatch node = Watch(m.Site, m.Node, now);
            ChannelWatch channel = node.Channel(m.Sensor, m.Quantity);
            if (channel.LastEnd is { } last && m.WindowEnd <= last)
            {
                // Older than the newest window: a duplicate, unless it is the node's backlog after an outage, which
                // arrives after its newest live window, oldest first (docs/protocol.md). That counts in its own time.
                if (!m.Backfill || (channel.BackfillEnd is { } seen && m.WindowEnd <= seen))
                {
                    return TelemetryOutcome.Duplicate;
                }

                channel.BackfillEnd = m.WindowEnd;
                channel.BackfillSeen = now;
                channel.InBackfill = true;
                if ((m.Flags & Unusable) == 0)
                {
                    EvaluateHazards(m, now, receivedTimestamp, channel.BackfillKey);
                }

                // Caught up with the live stream: what the backlog found carries over into the live state.
                if (m.WindowEnd + channel.Window >= last)
                {
                    EndBackfill(node, channel, now, receivedTimestamp);
                }

                return TelemetryOutcome.Evaluated;
            }

            channel.LastEnd = m.WindowEnd;
            channel.Window = m.WindowEnd - m.WindowStart;
            channel.LastReceived = now;
            channel.Heard = true;
            if ((m.Flags & QualityFlags.Stale) == 0)
            {
                channel.LastFresh = now;
            }

            if ((m.Flags & Implausible) == 0)
            {
                channel.LastPlausible = now;
            }
            else
            {
                channel.ImplausibleFlags = m.Flags & Implausible;
            }
            Heard(node, now);
            EvaluateOperator(node, now, receivedTimestamp, fromClock: false);

            // Values a sensor could not have measured, or did not measure afresh, never reach hazard rules.
            if ((m.Flags & Unusable) == 0)
            {
                EvaluateHazards(m, now, receivedTimestamp, m.Sensor);
            }

            return TelemetryOutcome.Evaluated;
        }
    }

    /// <summary>Takes a validated node status (the fleet directory already holds it): online state and sensor health.</summary>
    public void OnStatus(NodeStatusMessage status)
    {
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            NodeWatch node = Watch(status.Site, status.Node, now);
            if (node.State != NodeState.Online && status.State == NodeState.Online)
            {
                node.AliveSince = now;
            }

            node.State = status.State;
            node.Status = status;
            Heard(node, now);
            if (status.Sensors.Count > 0)
            {
                // Sensors gone from the node's configuration are no longer watched.
                foreach (string gone in node.Sensors.Keys.Where(id => !status.Sensors.Any(s => s.Id == id)).ToList())
                {
                    node.Sensors.Remove(gone);
                }

                foreach ((string Sensor, string Quantity) gone in node.Channels.Keys.Where(k => !status.Sensors.Any(s => s.Id == k.Sensor)).ToList())
                {
                    node.Channels.Remove(gone);
                }
            }

            foreach (SensorStatus s in status.Sensors)
            {
                SensorWatch watch = node.Sensor(s.Id, _catalog.Operator.SensorFailed.Hold);
                if (watch.Last?.Health == SensorHealth.Failed && s.Health != SensorHealth.Failed)
                {
                    watch.RecoveredAt = now;
                }

                watch.Last = s;
            }

            EvaluateOperator(node, now, 0, fromClock: false);
        }
    }

    /// <summary>The gateway clock's part: heartbeats, hold times of operator rules, stale channels, settling areas, CAP re-issues before expiry.</summary>
    public void Tick()
    {
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            for (int i = _pending.Count - 1; i >= 0; i--)
            {
                HazardSubject s = _pending[i];
                if (now - s.PendingSince >= _catalog.Settle)
                {
                    Flush(s, now, 0);
                }
            }

            foreach (NodeWatch node in _nodes.Values)
            {
                EvaluateOperator(node, now, 0, fromClock: true);
                foreach (ChannelWatch c in node.Channels.Values)
                {
                    // A backlog that stopped short of the live stream (the node went away again) ends too.
                    if (c.InBackfill && now - c.BackfillSeen >= BackfillIdle)
                    {
                        EndBackfill(node, c, now, 0);
                    }
                }
            }

            // Last, so an alert that changed just now counts from its new message.
            _alerts.Refresh(now, Definition);
        }
    }

    /// <summary>Writes rule state changed since the last alert step (rate windows, baselines, hold timers).</summary>
    public void Flush()
    {
        lock (_lock)
        {
            if (_dirty.Count == 0)
            {
                return;
            }

            try
            {
                IReadOnlyList<string> failed = _store.SaveStates(_dirty);
                _dirty.Clear();
                if (failed.Count > 0)
                {
                    // Dropped from this flush rather than retried for ever: the next window rewrites them.
                    LogStatesNotWritten(failed.Count, failed[0]);
                }
            }
            catch (StateStoreException e)
            {
                LogFlushFailed(e.Message);
            }
        }
    }

    /// <summary>Withdraws an active alert (CAP Cancel); false when there is no active alert with that id.</summary>
    public bool Cancel(string alertId, string? note)
    {
        lock (_lock)
        {
            if (_alerts.Find(alertId) is not { } a)
            {
                return false;
            }

            AlertDefinition definition = Definition(a.Rule, a.Site) ?? new RetiredDefinition(a.Rule, a.Audience);
            bool done = _alerts.Cancel(definition, alertId, note, _dirty);
            if (done)
            {
                _dirty.Clear();
            }

            return done;
        }
    }

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

    private void Heard(NodeWatch node, DateTimeOffset now)
    {
        // Back after an outage: its channels' silence counts from now, not from before it went away.
        if (now - node.LastSeen >= _catalog.Operator.NodeOffline.Heartbeat)
        {
            node.AliveSince = now;
        }

        node.LastSeen = now;
        node.Heard = true;
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
            state = new ConditionState(spec) { StateKey = StateKey(rn, condition, stateKey, m.Quantity) };
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

        if (_alerts.Apply(new AlertStep(rule, subject.Site, subject.Subject, grade, Evidence(subject, grade, current), eventTime, received), _dirty))
        {
            _dirty.Clear();
        }
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
            Unit = rule.Measure == Measure.Deviation ? "%" : state?.Unit ?? string.Empty,
            Value = state?.Measured ?? double.NaN,
            Threshold = rule.Primary.Thresholds[Math.Max(grade.Level, 1) - 1],
            NodesReporting = Math.Max(1, subject.Nodes.Values.Count(n => n.Lead is not null)),
        };
    }

    /// <param name="node">The node.</param>
    /// <param name="now">The gateway clock.</param>
    /// <param name="received">Arrival timestamp of the message that caused this, for the latency measurement; 0 for none.</param>
    /// <param name="fromClock">
    /// True on the gateway's tick. Silence-based alerts (stale, implausible) are raised only then, all channels of a
    /// node at once, and cleared by messages as well: judged message by message, a batch of fresh windows arriving
    /// just as the silence passes the limit would raise, update channel by channel, and clear within one second.
    /// </param>
    private void EvaluateOperator(NodeWatch node, DateTimeOffset now, long received, bool fromClock)
    {
        OperatorRulesOptions o = _catalog.Operator;
        if (o.NodeOffline.Enabled)
        {
            if (node.Offline is null)
            {
                node.Offline = new ThresholdState(0.5, 0, o.NodeOffline.Hold, above: true);
            }

            // A node whose outage was restored from the store stays out until it is heard from again.
            bool silent = now - node.LastSeen >= o.NodeOffline.Heartbeat;
            bool offline = node.State != NodeState.Online || silent || (!node.Heard && node.Offline.Active);
            if (node.Offline.Evaluate(offline ? 1 : 0, now) != Transition.None || node.Offline.Active != _alerts.Current(NodeOfflineDefinition.Instance.Id, node.Site, node.Node).IsActive)
            {
                string reason = node.State switch
                {
                    NodeState.Lost => NodeOfflineDefinition.Lost,
                    NodeState.Offline => NodeOfflineDefinition.Offline,
                    _ => NodeOfflineDefinition.Silent,
                };
                Grade grade = node.Offline.Active ? new Grade(1, true, node.Node) : Grade.None;
                ApplyOperator(NodeOfflineDefinition.Instance, node, grade, "heartbeat-age", "s", Math.Round((now - node.LastSeen).TotalSeconds), o.NodeOffline.Heartbeat.TotalSeconds, [reason], now, received);
            }
        }

        if (o.SensorFailed.Enabled)
        {
            bool changed = false;
            int failing = 0;
            foreach (SensorWatch s in node.Sensors.Values)
            {
                // Degraded keeps whatever holds: the node still retries every interval.
                if (s.Last is { Health: not SensorHealth.Degraded } last)
                {
                    changed |= s.Failed.Evaluate(last.Health == SensorHealth.Failed ? 1 : 0, now) != Transition.None;
                }

                failing += s.Failed.Active ? 1 : 0;
            }

            if (changed || failing > 0 != _alerts.Current(SensorFailedDefinition.Instance.Id, node.Site, node.Node).IsActive)
            {
                PublishSensorFailed(node, now, received);
            }
        }

        if (o.StaleData.Enabled && node.Channels.Count > 0)
        {
            bool changed = false;
            foreach (ChannelWatch c in node.Channels.Values)
            {
                if (!c.Heard)
                {
                    continue;
                }

                TimeSpan limit = Max(o.StaleData.After, 3 * c.Window);
                bool failed = node.Sensors.TryGetValue(c.Sensor, out SensorWatch? sensor) && sensor.Last?.Health == SensorHealth.Failed;

                // Stale means no fresh value for the limit while the node itself talks: windows flagged stale do not
                // count as fresh, so one such window is no alert, and the age reported is never below the limit.
                // A silent node is the heartbeat's business.
                // A sensor back from failure gets the limit afresh: its channels were excused while it was down.
                bool alive = now - node.LastSeen < limit;
                DateTimeOffset since = Max(Max(c.LastFresh, node.AliveSince), sensor?.RecoveredAt ?? DateTimeOffset.MinValue);
                bool stale = node.State == NodeState.Online && !failed && alive && now - since >= limit;
                if (stale && !fromClock && !c.Stale.Active)
                {
                    continue;
                }

                changed |= c.Stale.Evaluate(stale ? 1 : 0, now) != Transition.None;
            }

            if (changed)
            {
                PublishStale(node, now, received);
            }
        }

        if (o.ImplausibleData.Enabled && node.Channels.Count > 0)
        {
            bool changed = false;
            foreach (ChannelWatch c in node.Channels.Values)
            {
                // Windows keep coming, but flagged stuck or out of range, for the limit: the rules cannot use them,
                // and only the control room can tell a stuck gauge from a calm river.
                TimeSpan limit = Max(o.ImplausibleData.After, 3 * c.Window);
                bool implausible = c.Heard && node.State == NodeState.Online && c.LastReceived > c.LastPlausible
                    && now - c.LastReceived < limit && now - Max(c.LastPlausible, node.AliveSince) >= limit;
                if (implausible && !fromClock && !c.Implausible.Active)
                {
                    continue;
                }

                changed |= c.Implausible.Evaluate(implausible ? 1 : 0, now) != Transition.None;
            }

            if (changed)
            {
                PublishImplausible(node, now, received);
            }
        }
    }

    // Kept apart from the per-message path: their lambdas capture, and a capture allocates on entry.
    private void PublishSensorFailed(NodeWatch node, DateTimeOffset now, long received)
    {
        SensorWatch[] failed = [.. node.Sensors.Values.Where(s => s.Failed.Active).OrderBy(s => s.Id, StringComparer.Ordinal)];
        Grade grade = failed.Length == 0 ? Grade.None : new Grade(1, true, string.Join(',', failed.Select(s => s.Id)));
        string[] detail = [.. failed.Select(s => s.Last?.LastError is { } error ? $"{s.Id} ({error})" : s.Id)];
        double worst = failed.Length == 0 ? 0 : failed.Max(s => s.Last?.ConsecutiveFailures ?? 0);
        ApplyOperator(SensorFailedDefinition.Instance, node, grade, "consecutive-failures", "count", worst, FailedAfter, detail, now, received);
    }

    private void PublishStale(NodeWatch node, DateTimeOffset now, long received)
    {
        ChannelWatch[] stale = [.. node.Channels.Values.Where(c => c.Stale.Active).OrderBy(c => c.Id, StringComparer.Ordinal)];
        Grade grade = stale.Length == 0 ? Grade.None : new Grade(1, true, string.Join(',', stale.Select(c => c.Id)));
        double age = stale.Length == 0 ? 0 : stale.Max(c => Math.Round((now - Max(c.LastFresh, node.AliveSince)).TotalSeconds));
        ApplyOperator(StaleDataDefinition.Instance, node, grade, "data-age", "s", age, _catalog.Operator.StaleData.After.TotalSeconds, [.. stale.Select(c => c.Id)], now, received);
    }

    private void PublishImplausible(NodeWatch node, DateTimeOffset now, long received)
    {
        ChannelWatch[] bad = [.. node.Channels.Values.Where(c => c.Implausible.Active).OrderBy(c => c.Id, StringComparer.Ordinal)];
        Grade grade = bad.Length == 0 ? Grade.None : new Grade(1, true, string.Join(',', bad.Select(c => c.Id)));
        double age = bad.Length == 0 ? 0 : bad.Max(c => Math.Round((now - Max(c.LastPlausible, node.AliveSince)).TotalSeconds));
        string[] detail = [.. bad.Select(c => $"{c.Id} ({ImplausibleDataDefinition.Reason(c.ImplausibleFlags)})")];
        ApplyOperator(ImplausibleDataDefinition.Instance, node, grade, "implausible-for", "s", age, _catalog.Operator.ImplausibleData.After.TotalSeconds, detail, now, received);
    }

    private void ApplyOperator(OperatorDefinition definition, NodeWatch node, Grade grade, string quantity, string unit, double value, double threshold, IReadOnlyList<string> detail, DateTimeOffset now, long received)
    {
        var evidence = new AlertEvidence
        {
            Nodes = grade.IsActive ? [node.Node] : [],
            Quantity = quantity,
            Unit = unit,
            Value = value,
            Threshold = threshold,
            Detail = detail,
        };
        if (_alerts.Apply(new AlertStep(definition, node.Site, node.Node, grade, evidence, now, received), _dirty))
        {
            _dirty.Clear();
        }
    }

    private void RestoreHazardStates()
    {
        foreach ((string key, byte[] data) in _store.LoadStates())
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
            var state = new ConditionState(spec) { StateKey = key };
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
                foreach (string channel in a.Members.Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    int slash = channel.IndexOf('/', StringComparison.Ordinal);
                    if (slash > 0)
                    {
                        ChannelWatch c = Watch(a.Site, a.Subject, now).Channel(channel[..slash], channel[(slash + 1)..]);
                        c.LastReceived = now;
                        c.Stale.Restore(a.RaisedAt);
                    }
                }

                return true;
            case ImplausibleDataOptions.RuleId:
                foreach (string channel in a.Members.Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    int slash = channel.IndexOf('/', StringComparison.Ordinal);
                    if (slash > 0)
                    {
                        ChannelWatch c = Watch(a.Site, a.Subject, now).Channel(channel[..slash], channel[(slash + 1)..]);
                        c.Implausible.Restore(a.RaisedAt);
                    }
                }

                return true;
            default:
                return false;
        }
    }

    private AlertDefinition? Definition(string rule, string site) => rule switch
    {
        NodeOfflineOptions.RuleId => NodeOfflineDefinition.Instance,
        SensorFailedOptions.RuleId => SensorFailedDefinition.Instance,
        StaleDataOptions.RuleId => StaleDataDefinition.Instance,
        ImplausibleDataOptions.RuleId => ImplausibleDataDefinition.Instance,
        _ => FindRule(rule, site),
    };

    private CompiledRule? FindRule(string id, string site)
    {
        foreach (CompiledRule r in _rules)
        {
            if (r.Id == id && r.AppliesTo(site))
            {
                return r;
            }
        }

        return null;
    }

    private NodeWatch Watch(string site, string node, DateTimeOffset now)
    {
        if (!_nodes.TryGetValue((site, node), out NodeWatch? w))
        {
            // A node the gateway (re)learns about gets a full heartbeat before it can count as silent.
            w = new NodeWatch(site, node) { LastSeen = now, AliveSince = now };
            _nodes.Add((site, node), w);
        }

        return w;
    }

    private RuleNode RuleNodeFor(CompiledRule rule, string site, string node)
    {
        if (!_ruleNodes.TryGetValue((rule.Id, site, node), out RuleNode? rn))
        {
            string subjectId = rule.SubjectOf(site, node);
            if (!_subjects.TryGetValue((rule.Id, site, subjectId), out HazardSubject? subject))
            {
                subject = new HazardSubject(rule, site, subjectId);
                _subjects.Add((rule.Id, site, subjectId), subject);
            }

            rn = new RuleNode(rule, site, node, subject);
            _ruleNodes.Add((rule.Id, site, node), rn);
            subject.Nodes.Add(node, rn);
        }

        return rn;
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

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId}: rule '{Rule}' is no longer configured; the alert is withdrawn")]
    private partial void LogRetired(string alertId, string rule);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rule state could not be written: {Reason}; retrying at the next flush")]
    private partial void LogFlushFailed(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} rule states could not be serialised and were not written (first: {Key})")]
    private partial void LogStatesNotWritten(int count, string key);

    /// <summary>All conditions of one rule on one node, and the level they give together.</summary>
    private sealed class RuleNode(CompiledRule rule, string site, string node, HazardSubject subject)
    {
        public CompiledRule Rule { get; } = rule;

        public string Site { get; } = site;

        public string Node { get; } = node;

        public HazardSubject Subject { get; } = subject;

        /// <summary>By sensor id.</summary>
        public Dictionary<string, ConditionState> Primary { get; } = new(StringComparer.Ordinal);

        /// <summary>By sensor id; used only while the node publishes no primary quantity.</summary>
        public Dictionary<string, ConditionState> Fallback { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, ConditionState>[] Also { get; } = [.. rule.Also.Select(_ => new Dictionary<string, ConditionState>(StringComparer.Ordinal))];

        public int Level { get; private set; }

        /// <summary>The channel that weighs most: the highest level, then the most extreme measure.</summary>
        public ConditionState? Lead { get; private set; }

        public DateTimeOffset LastWindow { get; set; } = DateTimeOffset.MinValue;

        public IEnumerable<Dictionary<string, ConditionState>> AllStates()
        {
            yield return Primary;
            yield return Fallback;
            foreach (Dictionary<string, ConditionState> also in Also)
            {
                yield return also;
            }
        }

        /// <summary>True when <see cref="Level"/> changed.</summary>
        public bool Recompute()
        {
            Dictionary<string, ConditionState> source = Primary.Count > 0 ? Primary : Fallback;
            int level = 0;
            ConditionState? lead = null;
            foreach (ConditionState s in source.Values)
            {
                if (lead is null || s.Level > level || (s.Level == level && Weighs(s, lead, Rule.Primary.Above)))
                {
                    lead = s;
                    level = s.Level;
                }
            }

            // Every further condition must hold on some sensor of the node to raise; once raised, the primary
            // condition alone decides when it ends (a temperature rise with smoke is over long before the smoke).
            for (int i = 0; level > 0 && Level == 0 && i < Also.Length; i++)
            {
                bool holds = false;
                foreach (ConditionState s in Also[i].Values)
                {
                    holds |= s.Level > 0;
                }

                if (!holds)
                {
                    level = 0;
                }
            }

            Lead = lead;
            bool changed = level != Level;
            Level = level;
            return changed;
        }

        public static bool Weighs(ConditionState a, ConditionState b, bool above)
        {
            if (a.Level != b.Level)
            {
                return a.Level > b.Level;
            }

            if (!double.IsFinite(b.Measured))
            {
                return double.IsFinite(a.Measured);
            }

            return above ? a.Measured > b.Measured : a.Measured < b.Measured;
        }
    }

    /// <summary>The nodes behind one alert: one node, or every node of a site for k-of-n rules.</summary>
    private sealed class HazardSubject(CompiledRule rule, string site, string subject)
    {
        public CompiledRule Rule { get; } = rule;

        public string Site { get; } = site;

        public string Subject { get; } = subject;

        public bool IsArea { get; } = rule.IsArea;

        public Dictionary<string, RuleNode> Nodes { get; } = new(StringComparer.Ordinal);

        /// <summary>A node's level changed since the grade was last compared.</summary>
        public bool Dirty { get; set; }

        // Settling: the window being collected, who reported it, and since when (gateway clock).
        public bool Pending { get; set; }

        public DateTimeOffset PendingSince { get; set; }

        public DateTimeOffset Window { get; set; }

        public DateTimeOffset FlushedWindow { get; set; } = DateTimeOffset.MinValue;

        public HashSet<string> Reported { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>What the operator rules know about one node.</summary>
    private sealed class NodeWatch(string site, string node)
    {
        public string Site { get; } = site;

        public string Node { get; } = node;

        public NodeState State { get; set; } = NodeState.Online;

        public NodeStatusMessage? Status { get; set; }

        /// <summary>Gateway time of the node's last message of any kind.</summary>
        public DateTimeOffset LastSeen { get; set; }

        /// <summary>False until the node is heard from after a gateway start.</summary>
        public bool Heard { get; set; }

        /// <summary>Since when the node has been talking without an outage (gateway time).</summary>
        public DateTimeOffset AliveSince { get; set; }

        public ThresholdState? Offline { get; set; }

        public Dictionary<string, SensorWatch> Sensors { get; } = new(StringComparer.Ordinal);

        public Dictionary<(string Sensor, string Quantity), ChannelWatch> Channels { get; } = [];

        public SensorWatch Sensor(string id, TimeSpan hold)
        {
            if (!Sensors.TryGetValue(id, out SensorWatch? s))
            {
                s = new SensorWatch(id, new ThresholdState(0.5, 0, hold, above: true));
                Sensors.Add(id, s);
            }

            return s;
        }

        public ChannelWatch Channel(string sensor, string quantity)
        {
            if (!Channels.TryGetValue((sensor, quantity), out ChannelWatch? c))
            {
                c = new ChannelWatch(sensor, quantity);
                Channels.Add((sensor, quantity), c);
            }

            return c;
        }
    }

    private sealed class SensorWatch(string id, ThresholdState failed)
    {
        public string Id { get; } = id;

        public ThresholdState Failed { get; } = failed;

        public SensorStatus? Last { get; set; }

        /// <summary>When the node last reported the sensor back from failed.</summary>
        public DateTimeOffset? RecoveredAt { get; set; }
    }

    private sealed class ChannelWatch(string sensor, string quantity)
    {
        public string Sensor { get; } = sensor;

        public string Quantity { get; } = quantity;

        public string Id { get; } = $"{sensor}/{quantity}";

        public DateTimeOffset? LastEnd { get; set; }

        public TimeSpan Window { get; set; }

        public DateTimeOffset LastReceived { get; set; }

        public bool Heard { get; set; }

        /// <summary>Where the channel's backlog keeps its condition states while it is evaluated.</summary>
        public string BackfillKey { get; } = $"{sensor}~backlog";

        /// <summary>The newest backlog window taken: an older or equal one is a redelivery.</summary>
        public DateTimeOffset? BackfillEnd { get; set; }

        /// <summary>True while a backlog is being evaluated in its own condition states.</summary>
        public bool InBackfill { get; set; }

        /// <summary>When the last backlog window arrived (gateway clock).</summary>
        public DateTimeOffset BackfillSeen { get; set; }

        /// <summary>When the last window not flagged stale arrived.</summary>
        public DateTimeOffset LastFresh { get; set; }

        /// <summary>When the last window flagged neither stuck nor out of range arrived.</summary>
        public DateTimeOffset LastPlausible { get; set; }

        /// <summary>The flags of the last implausible window, for the operator alert's text.</summary>
        public QualityFlags ImplausibleFlags { get; set; }

        public ThresholdState Stale { get; } = new(0.5, 0, TimeSpan.Zero, above: true);

        public ThresholdState Implausible { get; } = new(0.5, 0, TimeSpan.Zero, above: true);
    }
}
