using Microsoft.Extensions.Hosting;
using MQTTnet;
using MQTTnet.Formatter;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway;

public sealed class EmbeddedBrokerTests
{
    [Fact]
    public async Task An_mqtt5_client_without_a_client_id_is_assigned_one()
    {
        int port = FreePort.Get();
        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        using IMqttClient client = new MqttClientFactory().CreateMqttClient();

        MqttClientConnectResult result = await client.ConnectAsync(
            new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(string.Empty).WithProtocolVersion(MqttProtocolVersion.V500).Build(),
            TestContext.Current.CancellationToken);

        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        Assert.StartsWith("sensorkit-anon-", result.AssignedClientIdentifier, StringComparison.Ordinal);
        await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), TestContext.Current.CancellationToken);
        await gateway.StopAsync(TestContext.Current.CancellationToken);
    }
}
