namespace SensorKit.Node.Configuration;

/// <summary>Configuration section "Mqtt": the broker the node publishes to.</summary>
public sealed class MqttOptions
{
    public const string Section = "Mqtt";

    /// <summary>mqtt://host:port or mqtts://host:port (TLS).</summary>
    public string Broker { get; set; } = "mqtt://127.0.0.1:1883";

    public string? Username { get; set; }

    /// <summary>A file holding the password, so it never sits in a config file or a unit file.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>Defaults to "sensorkit-{site}-{node}".</summary>
    public string? ClientId { get; set; }

    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    public TimeSpan ReconnectMin { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ReconnectMax { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Parses <see cref="Broker"/>; null when it is malformed.</summary>
    public Uri? ParseBroker()
    {
        if (!Uri.TryCreate(Broker, UriKind.Absolute, out Uri? uri))
        {
            return null;
        }

        bool schemeOk = uri.Scheme is "mqtt" or "mqtts" or "tcp";
        return schemeOk && !string.IsNullOrEmpty(uri.Host) && uri.AbsolutePath is "" or "/" ? uri : null;
    }

    public static int Port(Uri broker) => broker.IsDefaultPort || broker.Port <= 0 ? (broker.Scheme == "mqtts" ? 8883 : 1883) : broker.Port;
}
