using MQTTnet;

namespace SensorKit.Mqtt;

/// <summary>Where one connect attempt goes and with what; or, with <see cref="Error"/>, why none can be made.</summary>
public sealed record MqttConnectPlan(string Host, int Port, MqttClientOptions? Options, string? Error = null)
{
    public static MqttConnectPlan Impossible(string host, int port, string error) => new(host, port, null, error);
}

/// <summary>What a worker adds to <see cref="MqttConnectionLoop"/>: its connect options, what it does once connected, and its log lines.</summary>
public interface IMqttWorker
{
    /// <summary>The next attempt's endpoint and options; asked before every attempt, so a rotated secret is picked up.</summary>
    ValueTask<MqttConnectPlan> PlanAsync(CancellationToken ct);

    /// <summary>Just connected: subscribe, log. A communication error here counts as a failed attempt.</summary>
    Task OnConnectedAsync(MqttConnectPlan plan, CancellationToken ct);

    /// <summary>The work while connected; returns, or throws an MQTTnet communication exception, once the connection is gone.</summary>
    Task RunAsync(CancellationToken ct);

    /// <summary>An attempt failed; told once per distinct reason while the failures last, not at every retry.</summary>
    void OnConnectFailed(MqttConnectPlan plan, string reason);

    /// <summary><see cref="RunAsync"/> ended because the connection broke.</summary>
    void OnConnectionLost(string reason);

    /// <summary>Why the broker refused the connection (CONNACK reason code).</summary>
    string DescribeRefusal(MqttClientConnectResultCode code) => $"refused with reason code {code}";

    /// <summary>Why an attempt got no CONNACK: the socket, TLS, the connect timeout.</summary>
    string DescribeFailure(Exception e) => e.InnerException?.Message ?? e.Message;

    /// <summary>Anything else <see cref="RunAsync"/> threw: true to carry on after a backoff, false to let it end the loop.</summary>
    bool OnFault(Exception e) => false;
}
