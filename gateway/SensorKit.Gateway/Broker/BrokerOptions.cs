using System.Net;
using Microsoft.Extensions.Options;

namespace SensorKit.Gateway.Broker;

/// <summary>Configuration section "Broker": run the embedded broker (default) or join an external one.</summary>
public sealed class BrokerOptions
{
    public const string Section = "Broker";

    /// <summary>Embedded: start MQTTnet's broker in-process. External: connect to Mosquitto, EMQX, HiveMQ ….</summary>
    public BrokerMode Mode { get; set; } = BrokerMode.Embedded;

    /// <summary>Embedded: the address to listen on. Loopback by default; anything else needs <see cref="Users"/>.</summary>
    public string Address { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 1883;

    /// <summary>Embedded: accounts allowed to connect. Empty means anonymous, which is allowed on loopback only.</summary>
    public List<BrokerUser> Users { get; set; } = [];

    /// <summary>External: mqtt://host:port or mqtts://host:port.</summary>
    public string? Uri { get; set; }

    /// <summary>External: the gateway's own account.</summary>
    public string? Username { get; set; }

    public string? PasswordFile { get; set; }

    public TimeSpan ReconnectMax { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>External: the gateway's client id. Its session is persistent, so the broker queues node messages while the gateway restarts.</summary>
    public string ClientId { get; set; } = "sensorkit-gateway";

    /// <summary>External: how long the broker keeps the gateway's session (and queues for it) while it is away.</summary>
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Embedded: per-connection and total limits.</summary>
    public BrokerLimits Limits { get; set; } = new();

    /// <summary>An IP address, with an IPv4-mapped IPv6 one (::ffff:127.0.0.1) taken as the IPv4 address it maps.</summary>
    internal static IPAddress? ParseAddress(string? text) =>
        IPAddress.TryParse(text, out IPAddress? ip) ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip) : null;
}

public enum BrokerMode
{
    Embedded,
    External,
}

/// <summary>A broker account; the password lives in a file (mode 0600), never in configuration.</summary>
public sealed class BrokerUser
{
    public string Username { get; set; } = string.Empty;
    public string PasswordFile { get; set; } = string.Empty;
}

public sealed class BrokerOptionsValidator : IValidateOptions<BrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions o)
    {
        const string s = BrokerOptions.Section;
        var errors = new List<string>();
        if (o.Mode == BrokerMode.Embedded)
        {
            if (BrokerOptions.ParseAddress(o.Address) is not { } ip)
            {
                errors.Add($"{s}:Address: '{o.Address}' is not an IP address");
            }
            else if (!IPAddress.IsLoopback(ip) && o.Users.Count == 0)
            {
                errors.Add($"{s}:Users: the broker would listen on {o.Address}, which is reachable from the network, without any account. " +
                    $"Add {s}:Users (Username and PasswordFile) or bind {s}:Address to 127.0.0.1. There are no default passwords.");
            }

            if (o.Port is < 1 or > 65535)
            {
                errors.Add($"{s}:Port: {o.Port} is outside 1-65535");
            }

            for (int i = 0; i < o.Users.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(o.Users[i].Username))
                {
                    errors.Add($"{s}:Users:{i}:Username: is empty");
                }

                if (string.IsNullOrWhiteSpace(o.Users[i].PasswordFile))
                {
                    errors.Add($"{s}:Users:{i}:PasswordFile: is empty");
                }
                else if (!File.Exists(o.Users[i].PasswordFile))
                {
                    errors.Add($"{s}:Users:{i}:PasswordFile: '{o.Users[i].PasswordFile}' does not exist");
                }
            }
        }
        else
        {
            if (!System.Uri.TryCreate(o.Uri, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("mqtt" or "mqtts" or "tcp") || string.IsNullOrEmpty(uri.Host))
            {
                errors.Add($"{s}:Uri: '{o.Uri}' is not a broker URI like mqtt://127.0.0.1:1883");
            }

            if (o.PasswordFile is not null && !File.Exists(o.PasswordFile))
            {
                errors.Add($"{s}:PasswordFile: '{o.PasswordFile}' does not exist");
            }
        }

        errors.AddRange(o.Limits.Validate($"{s}:Limits"));
        if (o.Mode == BrokerMode.External && (string.IsNullOrWhiteSpace(o.ClientId) || o.ClientId.Length > 128 || o.ClientId.Any(char.IsControl)))
        {
            errors.Add($"{s}:ClientId: '{o.ClientId}' must be 1-128 printable characters");
        }

        if (o.SessionExpiry < TimeSpan.Zero || o.SessionExpiry.TotalSeconds > uint.MaxValue)
        {
            errors.Add($"{s}:SessionExpiry: {o.SessionExpiry} is out of range");
        }

        if (o.ReconnectMax <= TimeSpan.Zero)
        {
            errors.Add($"{s}:ReconnectMax: must be positive");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
