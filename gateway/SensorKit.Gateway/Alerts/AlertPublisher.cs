using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Protocol;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Alerts;

/// <summary>
/// Turns alert lifecycle messages into MQTT messages: every message on the event topic (QoS 1),
/// and the current state retained on the active topic until the alert clears. Queued, so alerts
/// raised while the broker connection is down are sent when it returns.
/// </summary>
public sealed class AlertPublisher : IDisposable
{
    private readonly Channel<MqttApplicationMessage> _queue = Channel.CreateUnbounded<MqttApplicationMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PayloadBuffer _buffer = new();
    private readonly Lock _lock = new();

    /// <summary>Raised for every alert message, in order; the demo's console and tests watch it.</summary>
    public event Action<AlertMessage>? Published;

    public ChannelReader<MqttApplicationMessage> Outgoing => _queue.Reader;

    public void Publish(AlertMessage alert)
    {
        byte[] json;
        lock (_lock)
        {
            json = _buffer.Alert(alert).ToArray();
        }

        _queue.Writer.TryWrite(Build(Topics.AlertEvent(alert.Site, alert.Rule, alert.Subject), json, retain: false));

        // Retained current state; an empty retained payload deletes it (MQTT 5.0 §3.3.1.3).
        byte[] active = alert.State == AlertState.Cleared ? [] : json;
        _queue.Writer.TryWrite(Build(Topics.AlertActive(alert.Site, alert.Rule, alert.Subject), active, retain: true));
        Published?.Invoke(alert);
    }

    private static MqttApplicationMessage Build(string topic, byte[] payload, bool retain) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain)
            .WithContentType("application/json")
            .Build();

    public void Dispose() => _buffer.Dispose();
}
