using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Fleet;
using SensorKit.Gateway.Health;
using SensorKit.Hosting;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Ingest;

/// <summary>
/// Takes every message from the node topics, validates it against the contract, keeps the fleet directory (node
/// identity: a node that sent no status is not in the fleet), and hands good telemetry and status to the
/// <see cref="ITelemetryEvaluator"/> (the rules), whose verdict counts duplicates. A bad message is handled in
/// isolation: counted by reason, logged within a per-reason rate limit, and dropped. It never stops the gateway and
/// never reaches rule state. Good telemetry then goes to every <see cref="ITelemetryConsumer"/> (the history).
/// </summary>
public sealed partial class TelemetryIngest(ITelemetryEvaluator rules, NodeDirectory nodes, TimeProvider time, ILogger<TelemetryIngest> logger, IEnumerable<ITelemetryConsumer>? consumers = null) : IBrokerIntake
{
    /// <summary>Why messages were dropped; the keys of <see cref="RejectedBy"/>.</summary>
    public const string Malformed = "malformed";
    public const string TopicMismatch = "topic-mismatch";
    public const string UnknownNode = "unknown-node";
    public const string NotANodeTopic = "not-a-node-topic";
    public const string Implausible = "implausible";
    public const string HandlerFailure = "handler-failure";

    /// <summary>Log lines per reason and minute; the rest are counted and reported with the next line.</summary>
    public const int LogBurst = 5;

    /// <summary>How far a window may end ahead of the gateway's clock: node clocks run on NTP, so minutes are generous.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(10);

    private readonly LogLimiter _logLimit = new(time, TimeSpan.FromMinutes(1), LogBurst);
    private readonly ITelemetryConsumer[] _consumers = consumers?.ToArray() ?? [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
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

    public Task Ready => _ready.Task;

    /// <summary>Called once the rules hold the stored state; the embedded broker's intake waits for it.</summary>
    public void MarkReady() => _ready.TrySetResult();

    IntakeVerdict IBrokerIntake.Take(string topic, ReadOnlySpan<byte> payload, string clientId, string? userName, long receivedTimestamp) =>
        Handle(topic, payload, receivedTimestamp) ? IntakeVerdict.Accepted : IntakeVerdict.Rejected;

    /// <summary>Validates and evaluates one message; false when it was refused (and counted, and perhaps logged).</summary>
    /// <param name="topic">The MQTT topic.</param>
    /// <param name="payload">The payload as received.</param>
    /// <param name="receivedTimestamp">Stopwatch timestamp of arrival, for the alert latency measurement.</param>
    public bool Handle(string topic, ReadOnlySpan<byte> payload, long receivedTimestamp = 0)
    {
        long started = receivedTimestamp != 0 ? receivedTimestamp : Stopwatch.GetTimestamp();
        try
        {
            if (Topics.TryParseTelemetry(topic, out TelemetryTopic t))
            {
                return HandleTelemetry(topic, t, payload, receivedTimestamp);
            }

            if (Topics.TryParseStatus(topic, out string site, out string node))
            {
                return HandleStatus(topic, site, node, payload);
            }

            return Reject(topic, Clip(topic), NotANodeTopic, "not a SensorKit telemetry or status topic");
        }
#pragma warning disable CA1031 // One message must never take down the intake: whatever it trips is counted and it is dropped.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Reject(topic, Clip(topic), HandlerFailure, $"{e.GetType().Name}: {e.Message}");
        }
        finally
        {
            GatewayMetrics.IngestLag.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private bool HandleTelemetry(string topic, TelemetryTopic t, ReadOnlySpan<byte> payload, long receivedTimestamp)
    {
        if (payload.IsEmpty)
        {
            // An empty retained message deletes the retained value (MQTT 5.0 §3.3.1.3): not an error.
            return true;
        }

        if (!ProtocolJson.TryReadTelemetry(payload, out TelemetryMessage m, out string error))
        {
            return Reject(topic, $"{t.Site}/{t.Node}", Malformed, error);
        }

        // The payload must describe the channel its topic names, so nobody can feed one node's rules from another topic.
        string? mismatch = m.Site != t.Site ? "site" : m.Node != t.Node ? "node" : m.Sensor != t.Sensor ? "sensor" : m.Quantity != t.Quantity ? "quantity" : null;
        if (mismatch is not null)
        {
            return Reject(topic, $"{t.Site}/{t.Node}", TopicMismatch, $"field '{mismatch}' does not match the topic");
        }

        // Rules deduplicate on window end: one window from the far future would shut its channel for good.
        if (m.WindowEnd <= m.WindowStart || m.WindowEnd - time.GetUtcNow() > MaxClockSkew)
        {
            return Reject(topic, $"{t.Site}/{t.Node}", Implausible, $"window {m.WindowStart:O} to {m.WindowEnd:O} is empty or ends in the future");
        }

        // A node announces itself with a retained status (its birth) before it sends data; data from a node
        // that never did is not from the fleet, and the gateway could not even place an alert on a map.
        if (!nodes.IsKnown(m.Site, m.Node))
        {
            return Reject(topic, $"{t.Site}/{t.Node}", UnknownNode, "no status (birth message) seen from this node");
        }

        TelemetryOutcome outcome = rules.OnTelemetry(m, receivedTimestamp);
        Consume(m);
        if (outcome == TelemetryOutcome.Duplicate)
        {
            Interlocked.Increment(ref _duplicates);
            GatewayMetrics.Duplicates.Add(1);
            return true;
        }

        Interlocked.Increment(ref _accepted);
        GatewayMetrics.Accepted.Add(1, new KeyValuePair<string, object?>("kind", "telemetry"));
        return true;
    }

    /// <summary>
    /// Hands the window to the consumers, rules' duplicates included (see <see cref="ITelemetryConsumer"/>). A consumer
    /// that throws does not change the verdict: the rules took the window, and refusing it would make the node drop it.
    /// </summary>
    private void Consume(in TelemetryMessage m)
    {
        foreach (ITelemetryConsumer consumer in _consumers)
        {
            try
            {
                consumer.OnWindow(m);
            }
#pragma warning disable CA1031 // One consumer's failure must not cost the rules or the other consumers the window.
            catch (Exception e)
#pragma warning restore CA1031
            {
                GatewayMetrics.BackgroundFailures.Add(1, new KeyValuePair<string, object?>("work", "consumer-" + consumer.Name));
                if (_logLimit.TryEnter("consumer-" + consumer.Name, out long suppressed))
                {
                    LogConsumerFailed(consumer.Name, m.Site, m.Node, e.GetType().Name, Clip(e.Message), suppressed);
                }
            }
        }
    }

    private bool HandleStatus(string topic, string site, string node, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return true;
        }

        if (!ProtocolJson.TryReadStatus(payload, out NodeStatusMessage? status, out string error))
        {
            return Reject(topic, $"{site}/{node}", Malformed, error);
        }

        if (status.Site != site || status.Node != node)
        {
            return Reject(topic, $"{site}/{node}", TopicMismatch, "fields 'site' and 'node' must match the topic");
        }

        Interlocked.Increment(ref _accepted);
        GatewayMetrics.Accepted.Add(1, new KeyValuePair<string, object?>("kind", "status"));
        nodes.Update(status, payload);
        rules.OnStatus(status);
        return true;
    }

    private bool Reject(string topic, string sender, string kind, string reason)
    {
        Interlocked.Increment(ref _rejected);
        _rejectedBy.AddOrUpdate(kind, 1, static (_, n) => n + 1);
        GatewayMetrics.Rejected.Add(1, new KeyValuePair<string, object?>("reason", kind));
        // Per reason, not per sender: a flood of made-up senders costs a few lines a minute, and a new bad sender
        // is still reported once the flood has passed.
        if (_logLimit.TryEnter(kind, out long suppressed))
        {
            LogRejected(kind, sender, Clip(topic), Clip(reason), suppressed);
        }

        return false;
    }

    /// <summary>Topics and reasons quoted in the log are bounded: a 60 KiB field must not become a 60 KiB line.</summary>
    private static string Clip(string s) => s.Length <= 200 ? s : string.Concat(s.AsSpan(0, 200), "...");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped a message ({Kind}) from {Sender} on {Topic}: {Reason}; {Suppressed} more of this kind were dropped without a log line since the last one (counted in sensorkit_gateway_messages_rejected_total)")]
    private partial void LogRejected(string kind, string sender, string topic, string reason, long suppressed);

    [LoggerMessage(Level = LogLevel.Error, Message = "Telemetry consumer '{Consumer}' failed on a window from {Site}/{Node}: {Error}: {Reason}; {Suppressed} more failures without a log line since the last one (counted in sensorkit_gateway_background_failures_total)")]
    private partial void LogConsumerFailed(string consumer, string site, string node, string error, string reason, long suppressed);
}
