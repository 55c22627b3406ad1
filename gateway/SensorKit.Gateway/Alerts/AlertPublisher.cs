using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Protocol;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Health;
using SensorKit.Gateway.State;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Alerts;

/// <summary>
/// Turns alert steps into MQTT messages: the JSON on the event topic (QoS 1), the current state retained on the
/// active topic until the alert ends, and the CAP document on the cap topic. Queued, so steps taken while the
/// broker connection is down go out when it returns; the state store keeps them across a restart too.
/// </summary>
public sealed class AlertPublisher : IMqttOutbound, IAlertMessageSink
{
    /// <summary>Meter of the gateway's alerting; the latency histogram is what docs/performance.md reports.</summary>
    public const string MeterName = GatewayMetrics.MeterName;

    private static readonly Histogram<double> s_latency = GatewayMetrics.Meter.CreateHistogram<double>(
        "sensorkit.gateway.alert.latency", unit: "ms", description: "From receiving the telemetry message to the broker accepting the alert event");

    private readonly Channel<OutgoingAlert> _queue = Channel.CreateUnbounded<OutgoingAlert>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Raised for every alert message as it is queued, in order; the demo's console and tests watch it.</summary>
    public event Action<AlertMessage>? Published;

    /// <summary>Raised when a step's last message reached the broker, with its CAP identifier.</summary>
    public event Action<string>? Sent;

    public ChannelReader<OutgoingAlert> Outgoing => _queue.Reader;

    /// <summary>Queues the three messages of one alert step: event, retained state, CAP.</summary>
    void IAlertMessageSink.OnStep(AlertMessage alert, byte[] json, byte[]? cap, string identifier, long receivedTimestamp) => Enqueue(alert, json, cap, identifier, receivedTimestamp);

    void IAlertMessageSink.OnReissue(string site, string rule, string subject, byte[] cap, string identifier) => EnqueueCap(site, rule, subject, cap, identifier);

    void IAlertMessageSink.OnUnsent(StoredMessage message) => EnqueueStored(message);

    void IAlertMessageSink.OnStillActive(string site, string rule, string subject, byte[] json) => EnqueueRetained(site, rule, subject, json);

    internal void Enqueue(AlertMessage alert, byte[] json, byte[]? cap, string identifier, long receivedTimestamp)
    {
        Write(alert.Site, Build(Topics.AlertEvent(alert.Site, alert.Rule, alert.Subject), json, retain: false, "application/json"), receivedTimestamp, null, isEvent: true);

        // Retained current state; an empty retained payload deletes it (MQTT 5.0 §3.3.1.3).
        bool ended = alert.State is AlertState.Cleared or AlertState.Cancelled;
        Write(alert.Site, Build(Topics.AlertActive(alert.Site, alert.Rule, alert.Subject), ended ? [] : json, retain: true, "application/json"), 0, cap is null ? identifier : null, isEvent: false);
        if (cap is not null)
        {
            Write(alert.Site, Build(Topics.AlertCap(alert.Site, alert.Rule, alert.Subject), cap, retain: false, CapWriter.MediaType), 0, identifier, isEvent: false);
        }

        GatewayMetrics.AlertSteps.Add(1, new("state", ProtocolJson.Name(alert.State)), new("audience", ProtocolJson.Name(alert.Audience)));
        Published?.Invoke(alert);
    }

    /// <summary>Queues a CAP re-issue: the cap topic only, as the alert's JSON state has not changed.</summary>
    internal void EnqueueCap(string site, string rule, string subject, byte[] cap, string identifier)
    {
        Write(site, Build(Topics.AlertCap(site, rule, subject), cap, retain: false, CapWriter.MediaType), 0, identifier, isEvent: false);
        GatewayMetrics.CapReissues.Add(1);
    }

    /// <summary>Queues a stored step again that had not reached the broker before a restart.</summary>
    internal void EnqueueStored(StoredMessage m)
    {
        if (m.State == StoredMessage.Reissued)
        {
            Write(m.Site, Build(Topics.AlertCap(m.Site, m.Rule, m.Subject), m.Cap!, retain: false, CapWriter.MediaType), 0, m.Identifier, isEvent: false);
            return;
        }

        bool ended = m.State is "cleared" or "cancelled";
        Write(m.Site, Build(Topics.AlertEvent(m.Site, m.Rule, m.Subject), m.Json, retain: false, "application/json"), 0, null, isEvent: true);
        Write(m.Site, Build(Topics.AlertActive(m.Site, m.Rule, m.Subject), ended ? [] : m.Json, retain: true, "application/json"), 0, m.Cap is null ? m.Identifier : null, isEvent: false);
        if (m.Cap is not null)
        {
            Write(m.Site, Build(Topics.AlertCap(m.Site, m.Rule, m.Subject), m.Cap, retain: false, CapWriter.MediaType), 0, m.Identifier, isEvent: false);
        }
    }

    /// <summary>Queues the retained state of an alert that is still active, e.g. after a restart with a fresh broker.</summary>
    internal void EnqueueRetained(string site, string rule, string subject, byte[] json) =>
        Write(site, Build(Topics.AlertActive(site, rule, subject), json, retain: true, "application/json"), 0, null, isEvent: false);

    /// <summary>Called by the connection once the broker accepted <paramref name="message"/>.</summary>
    public void OnSent(OutgoingAlert message)
    {
        if (message.IsEvent && message.ReceivedTimestamp != 0)
        {
            s_latency.Record(Stopwatch.GetElapsedTime(message.ReceivedTimestamp).TotalMilliseconds);
        }

        if (message.Identifier is { } identifier)
        {
            Sent?.Invoke(identifier);
        }
    }

    private void Write(string site, MqttApplicationMessage message, long receivedTimestamp, string? identifier, bool isEvent) =>
        _queue.Writer.TryWrite(new OutgoingAlert(message, receivedTimestamp, identifier, isEvent, site));

    private static MqttApplicationMessage Build(string topic, byte[] payload, bool retain, string contentType) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain)
            .WithContentType(contentType)
            .Build();
}
