using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace SensorKit.Tests.Support;

/// <summary>
/// MQTTnet's broker under the test's control: stopped and started again on the same port for an
/// outage, with a gate that holds nodes off until the test's subscriber is back, and optionally
/// with accounts or TLS.
/// </summary>
internal sealed class TestBroker : IAsyncDisposable
{
    private readonly MqttServer _server;
    private volatile bool _gateOpen;
    private int _nodeAttempts;

    private TestBroker(MqttServer server, int port, bool gateOpen)
    {
        _server = server;
        Port = port;
        _gateOpen = gateOpen;
    }

    public int Port { get; }

    /// <summary>Connection attempts by nodes (client ids starting with "sensorkit-"), accepted or not.</summary>
    public int NodeConnectAttempts => _nodeAttempts;

    /// <param name="gateOpen">False: nodes are refused (ServerUnavailable) until <see cref="OpenGate"/>; other clients always get in.</param>
    /// <param name="account">When set, every client must log in with it.</param>
    /// <param name="certificate">When set, the broker speaks TLS only, with this certificate.</param>
    public static async Task<TestBroker> StartAsync(int port, bool gateOpen = true, (string User, string Password)? account = null, X509Certificate2? certificate = null)
    {
        // MQTTnet drops the oldest queued message for a subscriber that falls behind (250 by default), which a loaded
        // test machine can make the probe do: the tests here are about what the node loses, not that broker's queue.
        var builder = new MqttServerOptionsBuilder().WithMaxPendingMessagesPerClient(1_000_000);
        if (certificate is null)
        {
            builder.WithDefaultEndpoint().WithDefaultEndpointPort(port)
                .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointBoundIPV6Address(IPAddress.None);
        }
        else
        {
            builder.WithoutDefaultEndpoint().WithEncryptedEndpoint().WithEncryptedEndpointPort(port)
                .WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback).WithEncryptedEndpointBoundIPV6Address(IPAddress.None)
                .WithEncryptionSslProtocol(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13)
                .WithEncryptionCertificate(certificate);
        }

        MqttServer server = new MqttServerFactory().CreateMqttServer(builder.Build());
        var broker = new TestBroker(server, port, gateOpen);
        server.ValidatingConnectionAsync += e =>
        {
            bool isNode = e.ClientId.StartsWith("sensorkit-", StringComparison.Ordinal);
            if (isNode)
            {
                Interlocked.Increment(ref broker._nodeAttempts);
            }

            if (account is { } a && (e.UserName != a.User || e.Password != a.Password))
            {
                e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            }
            else if (isNode && !broker._gateOpen)
            {
                e.ReasonCode = MqttConnectReasonCode.ServerUnavailable;
            }

            return Task.CompletedTask;
        };
        server.InterceptingPublishAsync += e => broker.Intercept is { } intercept ? intercept(e) : Task.CompletedTask;
        await server.StartAsync();
        return broker;
    }

    /// <summary>Sees every PUBLISH before it is passed on, and may answer it instead (a busy or refusing broker).</summary>
    public Func<InterceptingPublishEventArgs, Task>? Intercept { get; set; }

    public void OpenGate() => _gateOpen = true;

    /// <summary>Cuts the nodes off (the uplink fails) while subscribers stay connected; they stay off until <see cref="OpenGate"/>.</summary>
    public async Task CutNodesAsync()
    {
        _gateOpen = false;
        foreach (MqttClientStatus client in await _server.GetClientsAsync())
        {
            if (client.Id.StartsWith("sensorkit-", StringComparison.Ordinal))
            {
                await client.DisconnectAsync();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server.IsStarted)
        {
            await _server.StopAsync();
        }

        _server.Dispose();
    }
}
