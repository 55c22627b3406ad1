using System.Net;
using Microsoft.Extensions.Options;

namespace SensorKit.Gateway.Broker;

/// <summary>Configuration section "Broker": run the embedded broker (default) or join an external one.</summary>
public sealed class BrokerOptions
{
    public const string Section = "Broker";

    /// <summary>Embedded: start MQTTnet's broker in-process. External: connect to Mosquitto, EMQX, HiveMQ ….</summary>
    public BrokerMode Mode { get; set; } = BrokerMode.Embedded;

    /// <summary>
    /// Embedded: the address of the plain-TCP listener. Loopback by default; any other address needs
    /// <see cref="AllowPlainTcp"/>, since plain MQTT carries passwords and data unencrypted.
    /// </summary>
    public string Address { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 1883;

    /// <summary>Embedded: allow the plain-TCP listener on an address other than loopback (a trusted network only).</summary>
    public bool AllowPlainTcp { get; set; }

    /// <summary>
    /// Embedded: the accounts file (sensorkit-gateway accounts add/export). Without it only the gateway itself and
    /// anonymous read-only clients on loopback can connect; with it, a listener off loopback requires an account.
    /// A file that does not exist yet counts as no accounts, and is read as soon as it appears.
    /// </summary>
    public string? AccountsFile { get; set; }

    /// <summary>Embedded: the encrypted listener, on when <see cref="BrokerTlsOptions.CertificateFile"/> is set.</summary>
    public BrokerTlsOptions Tls { get; set; } = new();

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

/// <summary>Configuration section "Broker:Tls": MQTT over TLS (MQTT 5.0 §5.4.9).</summary>
public sealed class BrokerTlsOptions
{
    /// <summary>PEM file with the server certificate (the first one in the file; intermediates are not sent).</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1), unencrypted.</summary>
    public string? KeyFile { get; set; }

    /// <summary>Optional PEM file of the certificate authorities whose client certificates are required.</summary>
    public string? ClientCaFile { get; set; }

    /// <summary>The address to listen on; defaults to <see cref="BrokerOptions.Address"/>.</summary>
    public string? Address { get; set; }

    public int Port { get; set; } = 8883;

    public bool Enabled => !string.IsNullOrEmpty(CertificateFile) || !string.IsNullOrEmpty(KeyFile);
}

public sealed class BrokerOptionsValidator : IValidateOptions<BrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions o)
    {
        const string s = BrokerOptions.Section;
        var errors = new List<string>();
        if (o.Mode == BrokerMode.Embedded)
        {
            ValidateEmbedded(o, errors);
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

    private static void ValidateEmbedded(BrokerOptions o, List<string> errors)
    {
        const string s = BrokerOptions.Section;
        bool networkFacing = false;
        if (BrokerOptions.ParseAddress(o.Address) is not { } ip)
        {
            errors.Add($"{s}:Address: '{o.Address}' is not an IP address");
        }
        else if (!IPAddress.IsLoopback(ip))
        {
            networkFacing = true;
            if (!o.AllowPlainTcp)
            {
                errors.Add($"{s}:Address: plain MQTT on {o.Address} would carry passwords and data readable by anyone on the network. " +
                    $"Keep {s}:Address on 127.0.0.1 and let nodes use TLS ({s}:Tls:CertificateFile and {s}:Tls:KeyFile), or set {s}:AllowPlainTcp to true on a trusted network");
            }
        }

        if (o.Port is < 1 or > 65535)
        {
            errors.Add($"{s}:Port: {o.Port} is outside 1-65535");
        }

        BrokerTlsOptions tls = o.Tls;
        if (tls.Enabled)
        {
            string address = tls.Address ?? o.Address;
            if (BrokerOptions.ParseAddress(address) is not { } tlsIp)
            {
                errors.Add($"{s}:Tls:Address: '{address}' is not an IP address");
            }
            else if (!IPAddress.IsLoopback(tlsIp))
            {
                networkFacing = true;
            }

            if (tls.Port is < 1 or > 65535)
            {
                errors.Add($"{s}:Tls:Port: {tls.Port} is outside 1-65535");
            }
            else if (tls.Port == o.Port)
            {
                errors.Add($"{s}:Tls:Port: {tls.Port} is {s}:Port already");
            }

            RequireFile(errors, $"{s}:Tls:CertificateFile", tls.CertificateFile, required: true);
            RequireFile(errors, $"{s}:Tls:KeyFile", tls.KeyFile, required: true);
            RequireFile(errors, $"{s}:Tls:ClientCaFile", tls.ClientCaFile, required: false);
        }
        else if (!string.IsNullOrEmpty(tls.ClientCaFile))
        {
            errors.Add($"{s}:Tls:ClientCaFile: client certificates need the encrypted listener: set {s}:Tls:CertificateFile and {s}:Tls:KeyFile");
        }

        if (networkFacing && string.IsNullOrEmpty(o.AccountsFile))
        {
            errors.Add($"{s}:AccountsFile: the broker would listen on an address reachable from the network without any account. " +
                $"Create accounts (sensorkit-gateway accounts add NAME --site SITE) and set {s}:AccountsFile, or listen on 127.0.0.1 only. There are no default passwords.");
        }

        // A file that does not exist yet is no error: nobody can log in until `accounts add` creates it (BrokerAuthorization).
        if (o.AccountsFile is { } file && (file.Length == 0 || file.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            errors.Add($"{s}:AccountsFile: '{file}' is not a file path");
        }
    }

    private static void RequireFile(List<string> errors, string key, string? path, bool required)
    {
        if (string.IsNullOrEmpty(path))
        {
            if (required)
            {
                errors.Add($"{key}: is required for the encrypted listener");
            }
        }
        else if (!File.Exists(path))
        {
            errors.Add($"{key}: '{path}' does not exist or this user cannot see it");
        }
    }
}
