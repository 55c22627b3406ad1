using SensorKit.Protocol;

namespace SensorKit.Gateway.Broker.Accounts;

public enum AccountRole
{
    /// <summary>One sensor node: writes its own topics only, reads nothing.</summary>
    Node,

    /// <summary>A gateway: reads node telemetry and status, writes alerts.</summary>
    Gateway,

    /// <summary>A dashboard, Home Assistant, an operator's console: reads everything, writes nothing.</summary>
    Subscriber,
}

/// <summary>A broker account. <see cref="PasswordHash"/> is a mosquitto_passwd <c>$7$</c> line; the password itself is never stored.</summary>
public sealed class Account(string name, AccountRole role, string? site, string? node, string passwordHash)
{
    public string Name { get; } = name;

    public AccountRole Role { get; } = role;

    /// <summary>Node accounts: the site and node id the account may speak for; null otherwise.</summary>
    public string? Site { get; } = site;

    public string? Node { get; } = node;

    public string PasswordHash { get; } = passwordHash;

    /// <summary>Home Assistant's default discovery prefix; a node that changes HomeAssistant:DiscoveryPrefix loses discovery.</summary>
    public const string DiscoveryPrefix = "homeassistant";

    /// <summary>The client id a node uses by default (Mqtt:ClientId unset): <c>sensorkit-{site}-{node}</c>.</summary>
    public string? NodeClientId => Role == AccountRole.Node ? $"sensorkit-{Site}-{Node}" : null;

    /// <summary>The device level of the node's Home Assistant discovery topics (HomeAssistantDiscovery).</summary>
    public string? DiscoveryDevice => Role == AccountRole.Node ? $"sensorkit_{Site}_{Node}" : null;

    /// <summary>Topic filters this account may publish to (MQTT 5.0 §4.7 syntax).</summary>
    public IReadOnlyList<string> WriteFilters { get; } = role switch
    {
        AccountRole.Node => [$"{Topics.Prefix}{site}/{node}/#", $"{DiscoveryPrefix}/+/sensorkit_{site}_{node}/#"],
        AccountRole.Gateway => [GatewayWrite],
        _ => [],
    };

    /// <summary>Topic filters this account may subscribe to; a subscription must lie wholly inside one of them.</summary>
    public IReadOnlyList<string> ReadFilters { get; } = role switch
    {
        AccountRole.Gateway => GatewayRead,
        AccountRole.Subscriber => ReadOnlyFilters,
        _ => [],
    };

    public const string GatewayWrite = Topics.AllAlertsFilter;

    public static readonly IReadOnlyList<string> GatewayRead = [Topics.AllTelemetryFilter, Topics.AllStatusFilter];

    /// <summary>What subscribers, and anonymous clients on loopback, may read.</summary>
    public static readonly IReadOnlyList<string> ReadOnlyFilters = [Topics.Root + "/#", DiscoveryPrefix + "/#"];

    public static string RoleName(AccountRole role) => role switch
    {
        AccountRole.Node => "node",
        AccountRole.Gateway => "gateway",
        _ => "subscriber",
    };

    public static bool TryParseRole(string? text, out AccountRole role)
    {
        role = text switch
        {
            "node" => AccountRole.Node,
            "gateway" => AccountRole.Gateway,
            "subscriber" => AccountRole.Subscriber,
            _ => (AccountRole)(-1),
        };
        return Enum.IsDefined(role);
    }
}
