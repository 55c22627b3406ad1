namespace SensorKit.Node.Configuration;

/// <summary>Configuration section "Mqtt": the broker (or brokers, in order) the node publishes to, and how it proves who it is.</summary>
public sealed class MqttOptions
{
    public const string Section = "Mqtt";

    /// <summary>The broker when neither <see cref="Broker"/> nor <see cref="Brokers"/> is set.</summary>
    public const string DefaultBroker = "mqtt://127.0.0.1:1883";

    /// <summary>The most entries <see cref="Brokers"/> may have: each costs a connect timeout in a round.</summary>
    public const int MaxBrokers = 8;

    /// <summary>mqtt://host:port or mqtts://host:port (TLS): the one broker. For failover, <see cref="Brokers"/> instead.</summary>
    public string? Broker { get; set; }

    /// <summary>Brokers in order of preference, tried in turn (docs/node-connection.md, "Broker failover"); instead of <see cref="Broker"/>.</summary>
    public List<string> Brokers { get; set; } = [];

    /// <summary>On a later broker of <see cref="Brokers"/>: how often to look whether the first one is back, and return to it. Zero: never.</summary>
    public TimeSpan PreferPrimaryAfter { get; set; } = TimeSpan.FromMinutes(5);

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

    /// <summary>The configured brokers in order, each with the key it comes from (Mqtt:Broker, or Mqtt:Brokers:0, :1 …).</summary>
    public IReadOnlyList<(string Key, string? Value)> BrokerEntries() => Brokers.Count > 0
        ? [.. Brokers.Select((b, i) => ($"{Section}:Brokers:{i}", (string?)b))]
        : [($"{Section}:Broker", Broker ?? DefaultBroker)];

    /// <summary>The configured brokers, parsed; call only on validated options.</summary>
    public IReadOnlyList<Uri> ParseBrokers() => [.. BrokerEntries().Select(e => ParseBroker(e.Value, out _)!)];

    /// <summary>
    /// Parses one broker URI: mqtt:// or mqtts://, a host, an optional port, nothing else. Null with the reason when it
    /// is not one; a URI with credentials in it is not repeated in the reason, so the password lands in no log.
    /// </summary>
    public static Uri? ParseBroker(string? value, out string? problem)
    {
        problem = null;
        if (Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) && uri.UserInfo.Length > 0)
        {
            problem = $"holds a user name or password (not repeated here); put them in {Section}:Username and {Section}:PasswordFile instead";
            return null;
        }

        if (uri is null || uri.Scheme is not ("mqtt" or "mqtts") || string.IsNullOrEmpty(uri.Host) || uri.AbsolutePath is not ("" or "/") || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            problem = $"'{value}' is not a broker URI like mqtt://127.0.0.1:1883 or mqtts://broker.example:8883";
            return null;
        }

        return uri;
    }

    /// <summary>The broker as the node names it in logs and its status: scheme, host and port, e.g. mqtts://10.0.0.2:8883.</summary>
    public static string Name(Uri broker) => $"{broker.Scheme}://{broker.Host}:{Port(broker)}";

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
