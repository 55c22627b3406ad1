using Microsoft.Extensions.Logging;
using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// Evaluates the rules in force against telemetry and node status, and hands the alert steps they give to the
/// <see cref="IAlertSink"/> (the alert lifecycle, which it knows by that contract only).
/// Hazard rules run on the telemetry's own time (window ends), so a replay gives the same timeline; operator
/// rules (node offline, sensor failed, stale data) and the settling of area rules run on the gateway's clock.
/// </summary>
/// <remarks>
/// Per channel (node, sensor, quantity) each condition keeps its own state; per rule and node the conditions
/// give a level; per rule and subject (a node, or a site for k-of-n rules) the levels give the alert's grade.
/// Any change of the grade is one alert step. All of it runs under one lock: messages arrive one at a time
/// anyway, and alert steps must be ordered.
/// The engine is split by job: this file (the stage's entry points), RuleEngine.Hazards.cs (hazard rules),
/// RuleEngine.Operator.cs (operator liveness), RuleEngine.Restore.cs (state after a restart), and the state it keeps
/// (RuleNode.cs, NodeWatch.cs).
/// </remarks>
public sealed partial class RuleEngine : ITelemetryEvaluator, IAlertCommands
{
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
    private readonly List<IPersistentState> _stepStates = [];

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
    /// and the rule state; withdraws alerts whose rule is no longer configured. A member of a gateway group loads
    /// one <paramref name="site"/> when it takes the site over, and continues where the previous holder left it.
    /// </summary>
    public void Restore(string? site = null)
    {
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            foreach (NodeStatusMessage s in _fleet.Restore(site))
            {
                NodeWatch w = Watch(s.Site, s.Node, now);
                w.State = s.State;
                w.Status = s;
            }

            IReadOnlyList<ActiveAlert> active = _alerts.Restore(site);
            RestoreHazardStates(site);
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
            foreach (HazardSubject s in _subjects.Values.Where(s => site is null || s.Site == site))
            {
                s.Dirty = GradeOf(s) != _alerts.Current(s.Rule.Id, s.Site, s.Subject);
            }
        }
    }

    /// <summary>
    /// Lets go of a site another gateway of the group serves from now on: its rule state is written first when
    /// <paramref name="handOver"/> (a rebalance; a lost lease writes nothing, the store would refuse it), then
    /// everything the engine holds of the site is dropped.
    /// </summary>
    public void Release(string site, bool handOver)
    {
        lock (_lock)
        {
            List<IPersistentState> states = [.. _dirty.Where(s => s.Site == site)];
            if (handOver && states.Count > 0)
            {
                try
                {
                    _store.SaveStates(states);
                }
                catch (Exception e) when (e is StateStoreException or SiteNotHeldException)
                {
                    // The next holder continues from the last stored step: at most this flush interval of rate history is lost.
                    LogFlushFailed(e.Message);
                }
            }

            _dirty.ExceptWith(states);
            foreach (var key in _nodes.Keys.Where(k => k.Site == site).ToList())
            {
                _nodes.Remove(key);
            }

            foreach (var key in _ruleNodes.Keys.Where(k => k.Site == site).ToList())
            {
                _ruleNodes.Remove(key);
            }

            foreach (var key in _subjects.Keys.Where(k => k.Site == site).ToList())
            {
                _subjects.Remove(key);
            }

            _pending.RemoveAll(s => s.Site == site);
            _alerts.Forget(site);
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

    /// <summary>
    /// Hands a step to the alert stage together with the changed rule state of the step's own site: that is what a
    /// restart, or the site's next holder in a gateway group, resumes from. Other sites' state waits for the next
    /// flush (State:FlushInterval), so a step's transaction does not grow with the fleet.
    /// </summary>
    private void TakeStep(AlertStep step)
    {
        CollectDirty(step.Site);
        if (_alerts.Apply(step, _stepStates))
        {
            _dirty.ExceptWith(_stepStates);
        }
    }

    /// <summary>The changed rule state of one site into <see cref="_stepStates"/> (under the lock).</summary>
    private void CollectDirty(string site)
    {
        _stepStates.Clear();
        foreach (IPersistentState s in _dirty)
        {
            if (s.Site == site)
            {
                _stepStates.Add(s);
            }
        }
    }

    /// <summary>Writes rule state changed since the last alert step (rate windows, baselines, hold timers).</summary>
    /// <remarks>
    /// Site by site, each under the lock on its own: telemetry and alert steps wait for one site's write at a time,
    /// not for the whole fleet's (a gateway group member flushes tens of thousands of channels).
    /// </remarks>
    public void Flush()
    {
        string[] sites;
        lock (_lock)
        {
            sites = [.. _dirty.Select(s => s.Site).Distinct(StringComparer.Ordinal)];
        }

        int notWritten = 0;
        string? firstNotWritten = null;
        foreach (string site in sites)
        {
            lock (_lock)
            {
                CollectDirty(site);
                if (_stepStates.Count == 0)
                {
                    continue;
                }

                try
                {
                    IReadOnlyList<string> failed = _store.SaveStates(_stepStates);
                    _dirty.ExceptWith(_stepStates);
                    notWritten += failed.Count;
                    firstNotWritten ??= failed.Count > 0 ? failed[0] : null;
                }
                catch (StateStoreException e)
                {
                    // The rest stays dirty and goes with the next flush.
                    LogFlushFailed(e.Message);
                    break;
                }
            }
        }

        if (notWritten > 0)
        {
            // Dropped from this flush rather than retried for ever: the next window rewrites them.
            LogStatesNotWritten(notWritten, firstNotWritten!);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId}: rule '{Rule}' is no longer configured; the alert is withdrawn")]
    private partial void LogRetired(string alertId, string rule);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rule state could not be written: {Reason}; retrying at the next flush")]
    private partial void LogFlushFailed(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} rule states could not be serialised and were not written (first: {Key})")]
    private partial void LogStatesNotWritten(int count, string key);
}
