using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>Operator rules on the gateway's clock and the nodes' statuses: node offline, sensor failed, stale and implausible data.</summary>
public sealed partial class RuleEngine
{
    /// <summary>A node that says "failed" has failed at least this many reads in a row (docs/protocol.md).</summary>
    private const int FailedAfter = 3;

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
        TakeStep(new AlertStep(definition, node.Site, node.Node, grade, evidence, now, received));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
