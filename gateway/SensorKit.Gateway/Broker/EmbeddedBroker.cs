using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace SensorKit.Gateway.Broker;

/// <summary>
/// MQTTnet's broker, in-process. Kept apart from the gateway's client: the rest of the gateway
/// talks to it over MQTT on loopback exactly as it would to Mosquitto, so both modes run one code path.
/// </summary>
public sealed partial class EmbeddedBroker(IOptions<BrokerOptions> options, ILogger<EmbeddedBroker> logger) : IHostedService, IDisposable
{
    private readonly BrokerOptions _options = options.Value;
    private MqttServer? _server;
    private Dictionary<string, string> _accounts = [];

    /// <summary>The gateway's own account when accounts are required: random per start, never written anywhere.</summary>
    public (string Username, string Password)? InternalAccount { get; private set; }

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

        _server = new MqttServerFactory().CreateMqttServer(builder.Build());
        if (_options.Users.Count > 0)
        {
            _accounts = _options.Users.ToDictionary(
                u => u.Username,
                u => File.ReadAllText(u.PasswordFile).TrimEnd('\r', '\n'),
                StringComparer.Ordinal);
            string internalPassword = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
            InternalAccount = ("sensorkit-gateway-internal", internalPassword);
            _accounts[InternalAccount.Value.Username] = internalPassword;
        }

        _server.ValidatingConnectionAsync += ValidateAsync;

        await _server.StartAsync();
        LogStarted(_options.Address, _options.Port, _options.Users.Count > 0 ? "accounts required" : "anonymous, loopback only");
    }

    private Task ValidateAsync(ValidatingConnectionEventArgs e)
    {
        // MQTT 5.0 §3.1.3.1: a client may send an empty id and the server assigns one (mosquitto_sub does).
        // For MQTT 3.1.1 accepting an empty id is optional (§3.1.3-6) and MQTTnet declines.
        if (string.IsNullOrEmpty(e.ClientId))
        {
            e.AssignedClientIdentifier = $"sensorkit-anon-{Guid.NewGuid():N}";
        }

        if (_accounts.Count == 0)
        {
            return Task.CompletedTask;
        }

        bool ok = e.UserName is not null
            && _accounts.TryGetValue(e.UserName, out string? expected)
            && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(expected), System.Text.Encoding.UTF8.GetBytes(e.Password ?? string.Empty));
        if (!ok)
        {
            e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            LogRefused(e.ClientId, e.UserName ?? "(none)");
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { IsStarted: true })
        {
            await _server.StopAsync();
        }
    }

    public void Dispose() => _server?.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Embedded MQTT broker listening on {Address}:{Port} ({Access})")]
    private partial void LogStarted(string address, int port, string access);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker refused client {ClientId} (user {User}): bad user name or password")]
    private partial void LogRefused(string clientId, string user);
}
