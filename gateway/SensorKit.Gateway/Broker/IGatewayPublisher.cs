using MQTTnet;

namespace SensorKit.Gateway.Broker;

/// <summary>
/// What a later stage may ask of the embedded broker: a publish as the gateway's own client, through the same
/// checks as any client's publish (the SensorThings MQTT extension uses it). The broker owns this contract.
/// </summary>
public interface IGatewayPublisher
{
    /// <summary>False when the broker is not running (stopped, or an external broker is configured).</summary>
    Task<bool> PublishAsGatewayAsync(MqttApplicationMessage message, CancellationToken ct);
}

/// <summary>Where nodes reach the gateway's broker: whether it is the embedded one, and its port.</summary>
public sealed record BrokerEndpoint(bool Embedded, int Port)
{
    public static BrokerEndpoint From(BrokerOptions options) => new(options.Mode == BrokerMode.Embedded, options.Port);
}
