using MQTTnet;
using MQTTnet.Formatter;
using SensorKit.Gateway.Broker;
using SensorKit.Mqtt;

namespace SensorKit.Gateway.Connection;

/// <summary>How the gateway's clients connect to an external broker (Broker:Uri, Username, PasswordFile): one way for the alert connection and every site session.</summary>
internal static class ExternalBrokerPlan
{
    /// <summary>A persistent session under <paramref name="clientId"/>, so the broker queues node messages while no one holds it.</summary>
    public static async ValueTask<MqttConnectPlan> CreateAsync(BrokerOptions options, string clientId, CancellationToken ct)
    {
        var uri = new Uri(options.Uri!);
        bool tls = uri.Scheme == "mqtts";
        int port = uri.IsDefaultPort || uri.Port <= 0 ? (tls ? 8883 : 1883) : uri.Port;
        string? password = options.PasswordFile is null ? null : (await File.ReadAllTextAsync(options.PasswordFile, ct)).TrimEnd('\r', '\n');
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(uri.Host, port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)options.SessionExpiry.TotalSeconds)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (tls)
        {
            builder.WithTlsOptions(o => o.UseTls());
        }

        if (options.Username is not null)
        {
            builder.WithCredentials(options.Username, password ?? string.Empty);
        }

        return new MqttConnectPlan(uri.Host, port, builder.Build());
    }
}
