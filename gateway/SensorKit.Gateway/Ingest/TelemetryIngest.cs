using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway.Rules;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Ingest;

/// <summary>
/// Takes every message from the node topics, validates it against the contract, and hands good
/// telemetry and status to the rules. A malformed message is counted, logged once per sender, and
/// dropped: it never stops the gateway and never reaches rule state.
/// </summary>
public sealed partial class TelemetryIngest(RuleEngine rules, NodeDirectory nodes, TimeProvider time, ILogger<TelemetryIngest> logger)
{
    /// <summary>Why messages were dropped; the keys of <see cref="RejectedBy"/>.</summary>
    public const string Malformed = "malformed";
    public const string TopicMismatch = "topic-mismatch";
    public const string UnknownNode = "unknown-node";
    public const string NotANodeTopic = "not-a-node-topic";
    public const string Implausible = "implausible";

    /// <summary>How far a window may end ahead of the gateway's clock: node clocks run on NTP, so minutes are generous.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, byte> _loggedSenders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _rejectedBy = new(StringComparer.Ordinal);
    private long _accepted;
    private long _rejected;
    private long _duplicates;

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Telemetry windows seen before (QoS 1 redelivery, retained copies): ignored, not an error.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Rejected messages by reason: malformed, topic-mismatch, unknown-node, implausible, not-a-node-topic.</summary>
    public IReadOnlyDictionary<string, long> RejectedBy => _rejectedBy;

    /// <summary>The last status of every node seen, by site and node.</summary>
    public IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> Nodes => nodes.All;

    /// <param name="topic">The MQTT topic.</param>
    /// <param name="payload">The payload as received.</param>
    /// <param name="receivedTimestamp">Stopwatch timestamp of arrival, for the alert latency measurement.</param>
    public void Handle(string topic, ReadOnlySpan<byte> payload, long receivedTimestamp = 0)
    {
        if (Topics.TryParseTelemetry(topic, out TelemetryTopic t))
        {
            HandleTelemetry(topic, t, payload, receivedTimestamp);
        }
        else if (Topics.TryParseStatus(topic, out string site, out string node))
        {
            HandleStatus(topic, site, node, payload);
        }
        else
        {
            Reject(topic, topic, NotANodeTopic, "not a SensorKit telemetry or status topic");
        }
    }

    private void HandleTelemetry(string topic, TelemetryTopic t, ReadOnlySpan<byte> payload, long receivedTimestamp)
    {
        if (payload.IsEmpty)
        {
            // An empty retained message deletes the retained value (MQTT 5.0 §3.3.1.3): not an error.
            return;
        }

        if (!ProtocolJson.TryReadTelemetry(payload, out TelemetryMessage m, out string error))
        {
            Reject(topic, $"{t.Site}/{t.Node}", Malformed, error);
            return;
        }

        // The payload must describe the channel its topic names, so nobody can feed one node's rules from another topic.
        string? mismatch = m.Site != t.Site ? "site" : m.Node != t.Node ? "node" : m.Sensor != t.Sensor ? "sensor" : m.Quantity != t.Quantity ? "quantity" : null;
        if (mismatch is not null)
        {
            Reject(topic, $"{t.Site}/{t.Node}", TopicMismatch, $"field '{mismatch}' does not match the topic");
            return;
        }

        // Rules deduplicate on window end: one window from the far future would shut its channel for good.
        if (m.WindowEnd <= m.WindowStart || m.WindowEnd - time.GetUtcNow() > MaxClockSkew)
        {
            Reject(topic, $"{t.Site}/{t.Node}", Implausible, $"window {m.WindowStart:O} to {m.WindowEnd:O} is empty or ends in the future");
            return;
        }

        // A node announces itself with a retained status (its birth) before it sends data; data from a node
        // that never did is not from the fleet, and the gateway could not even place an alert on a map.
        if (!nodes.IsKnown(m.Site, m.Node))
        {
            Reject(topic, $"{t.Site}/{t.Node}", UnknownNode, "no status (birth message) seen from this node");
            return;
        }

        if (rules.OnTelemetry(m, receivedTimestamp) == TelemetryOutcome.Duplicate)
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }

        Interlocked.Increment(ref _accepted);
    }

    private void HandleStatus(string topic, string site, string node, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return;
        }

        if (!ProtocolJson.TryReadStatus(payload, out NodeStatusMessage? status, out string error))
        {
            Reject(topic, $"{site}/{node}", Malformed, error);
            return;
        }

        if (status.Site != site || status.Node != node)
        {
            Reject(topic, $"{site}/{node}", TopicMismatch, "fields 'site' and 'node' must match the topic");
            return;
        }

        Interlocked.Increment(ref _accepted);
        rules.OnStatus(status, payload);
    }

    private void Reject(string topic, string sender, string kind, string reason)
    {
        Interlocked.Increment(ref _rejected);
        _rejectedBy.AddOrUpdate(kind, 1, static (_, n) => n + 1);
        // Bounded, so a flood of made-up senders cannot grow memory; beyond it bad messages are only counted.
        if (_loggedSenders.Count < 1024 && _loggedSenders.TryAdd(sender, 0))
        {
            LogRejected(sender, topic, reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped a message from {Sender} on {Topic}: {Reason} (further bad messages from this sender are counted, not logged)")]
    private partial void LogRejected(string sender, string topic, string reason);
}
