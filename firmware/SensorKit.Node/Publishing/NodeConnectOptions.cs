using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SensorKit.Mqtt;
using SensorKit.Node.Configuration;

namespace SensorKit.Node.Publishing;

/// <summary>
/// What the node connects to its brokers with: the endpoints of Mqtt:Broker or Mqtt:Brokers, the client id, a clean
/// MQTT 5 session, the retained will that says "lost", TLS checked by <see cref="BrokerTrust"/>, and credentials whose
/// password is read at every connect so a rotated secret is picked up (and is never logged). The same client id,
/// account and trust serve every broker of the list.
/// </summary>
internal sealed class NodeConnectOptions(MqttOptions mqtt, NodeOptions node)
{
    private const string Json = "application/json";

    private readonly BrokerTrust _trust = new(mqtt);

    /// <summary>The brokers in order of preference.</summary>
    public IReadOnlyList<Uri> Brokers { get; } = mqtt.ParseBrokers();

    /// <param name="index">Which of <see cref="Brokers"/>.</param>
    /// <param name="willTopic">The node's status topic.</param>
    /// <param name="willPayload">The "lost" status the broker publishes when the node vanishes.</param>
    public MqttConnectPlan Plan(int index, string willTopic, byte[] willPayload)
    {
        Uri broker = Brokers[index];
        string host = broker.Host;
        int port = MqttOptions.Port(broker);
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithClientId(mqtt.ClientId ?? $"sensorkit-{node.Site}-{node.Id}")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithKeepAlivePeriod(mqtt.KeepAlive)
            .WithCleanStart(true)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithWillTopic(willTopic)
            .WithWillPayload(willPayload)
            .WithWillRetain(true)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithWillContentType(Json)
            .WithWillPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData);
        // Why the last handshake failed belongs to that attempt, not to this one.
        _trust.Forget();
        if (broker.Scheme == "mqtts")
        {
            builder.WithTlsOptions(o => o
                .UseTls()
                .WithTargetHost(host)
                .WithRevocationMode(X509RevocationMode.NoCheck)
                .WithCertificateValidationHandler(e => _trust.Validate(e.Certificate, e.Chain, e.SslPolicyErrors)));
        }

        if (!string.IsNullOrEmpty(mqtt.Username))
        {
            string? password = ReadPassword(out string? error);
            if (error is not null)
            {
                return MqttConnectPlan.Impossible(host, port, error);
            }

            builder.WithCredentials(mqtt.Username, password);
        }

        return new MqttConnectPlan(host, port, builder.Build());
    }

    public string DescribeRefusal(MqttClientConnectResultCode code) => code switch
    {
        MqttClientConnectResultCode.BadUserNameOrPassword or MqttClientConnectResultCode.NotAuthorized =>
            $"the broker refused the credentials of user '{mqtt.Username}' ({code}); check {MqttOptions.Section}:Username and the password in " +
            (mqtt.PasswordEnvironmentVariable is { Length: > 0 } v ? $"the environment variable '{v}'" : $"{MqttOptions.Section}:PasswordFile"),
        _ => $"refused with reason code {code}",
    };

    /// <summary>
    /// Whether <paramref name="broker"/> accepts a TCP connection within <paramref name="timeout"/>: the cheap look
    /// before leaving a working broker for it. Not a full MQTT connect: that would need a second client id.
    /// </summary>
    public static async Task<bool> AnswersAsync(Uri broker, TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        using var cts = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, ct);
        using var socket = new System.Net.Sockets.TcpClient();
        try
        {
            await socket.ConnectAsync(broker.Host, MqttOptions.Port(broker), linked.Token);
            return true;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return false;
        }
    }

    /// <summary>A refused certificate says why; anything else is the socket's or the timeout's message.</summary>
    public string DescribeFailure(Exception e) => _trust.LastRejection is { } tls ? $"TLS: {tls}" : e.InnerException?.Message ?? e.Message;

    private string? ReadPassword(out string? error)
    {
        error = null;
        if (!string.IsNullOrEmpty(mqtt.PasswordEnvironmentVariable))
        {
            string? fromEnvironment = Environment.GetEnvironmentVariable(mqtt.PasswordEnvironmentVariable);
            error = string.IsNullOrEmpty(fromEnvironment) ? $"the environment variable '{mqtt.PasswordEnvironmentVariable}' ({MqttOptions.Section}:PasswordEnvironmentVariable) is not set" : null;
            return fromEnvironment;
        }

        if (string.IsNullOrEmpty(mqtt.PasswordFile))
        {
            return null;
        }

        try
        {
            return File.ReadAllText(mqtt.PasswordFile).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read {MqttOptions.Section}:PasswordFile '{mqtt.PasswordFile}': {e.Message}";
            return null;
        }
    }
}
