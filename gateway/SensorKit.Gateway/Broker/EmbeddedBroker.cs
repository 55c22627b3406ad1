using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Server;

namespace SensorKit.Gateway.Broker;

/// <summary>
/// MQTTnet's broker, in-process. Kept apart from the gateway's client: the rest of the gateway
/// talks to it over MQTT on loopback exactly as it would to Mosquitto, so both modes run one code path.
/// </summary>
public sealed partial class EmbeddedBroker(IOptions<BrokerOptions> options, BrokerAuthorization authorization, ILogger<EmbeddedBroker> logger) : IHostedService, IDisposable
{
    private readonly BrokerOptions _options = options.Value;
    private MqttServer? _server;

    /// <summary>The gateway's own account: random per start, never written anywhere.</summary>
    public (string Username, string Password)? InternalAccount => authorization.InternalAccount;

    public bool IsRunning => _server?.IsStarted ?? false;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Mode != BrokerMode.Embedded)
        {
            return;
        }

        IPAddress ip = IPAddress.Parse(_options.Address);
        var builder = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointPort(_options.Port);
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            builder.WithDefaultEndpointBoundIPAddress(IPAddress.None).WithDefaultEndpointBoundIPV6Address(ip);
        }
        else
        {
            // MQTTnet binds every interface unless told otherwise; keep IPv6 to loopback when IPv4 is.
            builder.WithDefaultEndpointBoundIPAddress(ip)
                .WithDefaultEndpointBoundIPV6Address(IPAddress.IsLoopback(ip) ? IPAddress.IPv6Loopback : IPAddress.IPv6Any);
        }

        BrokerTls.AddEncryptedEndpoint(builder, _options);
        _server = new MqttServerFactory().CreateMqttServer(builder.Build());

        // Accounts, client ids and topic rights (BrokerAuthorization). Registered first: a later handler must
        // leave a message alone whose ProcessPublish this one cleared.
        authorization.Start();
        _server.ValidatingConnectionAsync += authorization.ValidateConnectionAsync;
        _server.InterceptingPublishAsync += authorization.InterceptPublishAsync;
        _server.InterceptingSubscriptionAsync += authorization.InterceptSubscriptionAsync;
        _server.ClientDisconnectedAsync += authorization.ClientDisconnectedAsync;

        await _server.StartAsync();
        LogStarted(_options.Address, _options.Port, _options.Tls.Enabled ? $"TLS on {_options.Tls.Address ?? _options.Address}:{_options.Tls.Port}" : "no TLS",
            authorization.Registry.Accounts.Count);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { IsStarted: true })
        {
            await _server.StopAsync();
        }
    }

    public void Dispose() => _server?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded MQTT broker listening on {Address}:{Port} ({Tls}); {Accounts} accounts, anonymous clients read-only from loopback")]
    private partial void LogStarted(string address, int port, string tls, int accounts);
}
