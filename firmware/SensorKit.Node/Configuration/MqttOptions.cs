namespace SensorKit.Node.Configuration;

/// <summary>Configuration section "Mqtt": the broker the node publishes to, and how it proves who it is.</summary>
public sealed class MqttOptions
{
    public const string Section = "Mqtt";

    /// <summary>mqtt://host:port or mqtts://host:port (TLS).</summary>
    public string Broker { get; set; } = "mqtt://127.0.0.1:1883";

    public string? Username { get; set; }

    /// <summary>A file holding the password (e.g. a systemd credential), so it never sits in a config file or a unit file.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>The name of an environment variable holding the password; the alternative to <see cref="PasswordFile"/>.</summary>
    public string? PasswordEnvironmentVariable { get; set; }

    /// <summary>mqtts: a PEM file with the certificate authority (or the broker's self-signed certificate) to trust instead of the system's.</summary>
    public string? CaFile { get; set; }

    /// <summary>mqtts: the SHA-256 fingerprint of the broker's certificate in hex (colons allowed); the connection is refused unless it matches.</summary>
    public string? CertificateFingerprint { get; set; }

    /// <summary>Defaults to "sensorkit-{site}-{node}".</summary>
    public string? ClientId { get; set; }

    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    public TimeSpan ReconnectMin { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ReconnectMax { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// MQTT 5 message expiry of telemetry: the broker drops a retained last value, or a copy queued for
    /// an offline subscriber, once it is this old, so nobody takes a stale reading for current. Zero: never.
    /// </summary>
    public TimeSpan TelemetryExpiry { get; set; } = TimeSpan.FromDays(1);

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

    /// <summary><see cref="CertificateFingerprint"/> as 32 bytes; null when unset or not 64 hex digits.</summary>
    public byte[]? ParseFingerprint()
    {
        if (string.IsNullOrWhiteSpace(CertificateFingerprint))
        {
            return null;
        }

        string hex = CertificateFingerprint.Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal);
        if (hex.Length != 64)
        {
            return null;
        }

        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>Configuration section "HomeAssistant": MQTT discovery, so Home Assistant shows the node's sensors by itself (off by default).</summary>
public sealed class HomeAssistantOptions
{
    public const string Section = "HomeAssistant";

    public bool Enabled { get; set; }

    /// <summary>Home Assistant's discovery prefix (its MQTT integration setting).</summary>
    public string DiscoveryPrefix { get; set; } = "homeassistant";
}
