using System.Threading.Channels;
using MQTTnet;

namespace SensorKit.Gateway.Connection;

/// <summary>One MQTT message of an alert step, with what the connection needs to report it sent.</summary>
/// <param name="Message">The MQTT message.</param>
/// <param name="ReceivedTimestamp">Stopwatch timestamp of the telemetry that caused the step; 0 when none did (a timer, a restart).</param>
/// <param name="Identifier">The step's CAP identifier on the last message of the step, so the store can mark it sent.</param>
/// <param name="IsEvent">True for the event message, whose arrival at the broker counts as "alert published".</param>
/// <param name="Site">The alert's site: a group member publishes only while it holds the site.</param>
public sealed record OutgoingAlert(MqttApplicationMessage Message, long ReceivedTimestamp, string? Identifier, bool IsEvent, string Site);

/// <summary>
/// What the gateway's MQTT connection publishes: a queue an output fills (Alerts/AlertPublisher.cs) and the
/// connection drains while it is connected. Owned by the connection, so the connection knows no output.
/// </summary>
public interface IMqttOutbound
{
    /// <summary>Messages in the order they are to be published; a message is read only once the broker took it.</summary>
    ChannelReader<OutgoingAlert> Outgoing { get; }

    /// <summary>Called by the connection once the broker accepted <paramref name="message"/>.</summary>
    void OnSent(OutgoingAlert message);
}
