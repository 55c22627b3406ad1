using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway.Alerts;
using SensorKit.Gateway.Rules;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Ingest;

/// <summary>
/// Takes every message from the node topics, validates it against the contract, and hands good
/// telemetry to the rules. A malformed message is counted, logged once per sender, and dropped:
/// it never stops the gateway and never reaches rule state.
/// </summary>
public sealed partial class TelemetryIngest(RuleEngine rules, AlertPublisher alerts, ILogger<TelemetryIngest> logger)
{
    private readonly ConcurrentDictionary<string, byte> _loggedSenders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Site, string Node), NodeStatusMessage> _nodes = new();
    private long _accepted;
    private long _rejected;

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>The last status of every node seen, by site and node.</summary>
    public IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> Nodes => _nodes;

    public void Handle(string topic, ReadOnlySpan<byte> payload)
    {
        if (Topics.TryParseTelemetry(topic, out TelemetryTopic t))
        {
            HandleTelemetry(topic, t, payload);
        }
        else if (Topics.TryParseStatus(topic, out string site, out string node))
        {
            HandleStatus(topic, site, node, payload);
        }
        else
        {
            Reject(topic, topic, "not a SensorKit telemetry or status topic");
        }
    }

    private void HandleTelemetry(string topic, TelemetryTopic t, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            // An empty retained message deletes the retained value (MQTT 5.0 §3.3.1.3): not an error.
            return;
        }

        if (!ProtocolJson.TryReadTelemetry(payload, out TelemetryMessage m, out string error))
        {
            Reject(topic, $"{t.Site}/{t.Node}", error);
            return;
        }

        // The payload must describe the channel its topic names, so nobody can feed one node's rules from another topic.
        string? mismatch = m.Site != t.Site ? "site" : m.Node != t.Node ? "node" : m.Sensor != t.Sensor ? "sensor" : m.Quantity != t.Quantity ? "quantity" : null;
        if (mismatch is not null)
        {
            Reject(topic, $"{t.Site}/{t.Node}", $"field '{mismatch}' does not match the topic");
            return;
        }

        Interlocked.Increment(ref _accepted);
        foreach (AlertMessage alert in rules.Evaluate(m))
        {
            alerts.Publish(alert);
        }
    }

    private void HandleStatus(string topic, string site, string node, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return;
        }

        if (!ProtocolJson.TryReadStatus(payload, out NodeStatusMessage? status, out string error))
        {
            Reject(topic, $"{site}/{node}", error);
            return;
        }

        if (status.Site != site || status.Node != node)
        {
            Reject(topic, $"{site}/{node}", "fields 'site' and 'node' must match the topic");
            return;
        }

        Interlocked.Increment(ref _accepted);
        _nodes[(site, node)] = status;
    }

    private void Reject(string topic, string sender, string reason)
    {
        Interlocked.Increment(ref _rejected);
        if (_loggedSenders.TryAdd(sender, 0))
        {
            LogRejected(sender, topic, reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped a message from {Sender} on {Topic}: {Reason} (further bad messages from this sender are counted, not logged)")]
    private partial void LogRejected(string sender, string topic, string reason);
}
