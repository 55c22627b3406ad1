using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace SensorKit.Gateway.Http;

/// <summary>
/// Who may use the gateway's HTTP endpoint (every output on it: the CAP feed, /metrics). On loopback only requests naming the feed's own address in Host are
/// served, so a page that rebinds its DNS name to 127.0.0.1 can neither read the feed nor cancel. An operator
/// token (<see cref="CapFeedOptions.OperatorTokenFile"/>), when configured, must come with every cancel; it is
/// required beyond loopback, where anyone on the network reaches the endpoint.
/// </summary>
internal sealed class FeedAccess
{
    /// <summary>Shortest token accepted: 128 bits in hex.</summary>
    public const int MinTokenLength = 32;

    private readonly byte[]? _tokenHash;
    private volatile HashSet<string>? _hosts;

    private FeedAccess(bool loopback, byte[]? tokenHash)
    {
        Loopback = loopback;
        _tokenHash = tokenHash;
    }

    /// <summary>The endpoint listens on loopback only, so requests are checked for the feed's own Host.</summary>
    public bool Loopback { get; }

    public bool TokenRequired => _tokenHash is not null;

    /// <summary>Reads the token; a file that cannot be read or holds no usable token stops the gateway, naming the key.</summary>
    public static FeedAccess Create(CapFeedOptions options)
    {
        bool loopback = IPAddress.TryParse(options.Address, out IPAddress? ip) && IPAddress.IsLoopback(ip);
        if (string.IsNullOrWhiteSpace(options.OperatorTokenFile))
        {
            return new FeedAccess(loopback, null);
        }

        (string? token, string? problem) = ReadToken(options.OperatorTokenFile);
        return token is null
            ? throw new GatewayConfigurationException($"{CapFeedOptions.Section}:OperatorTokenFile: {problem}")
            : new FeedAccess(loopback, SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    /// <summary>The token in <paramref name="path"/>, or what is wrong with the file (for the options validator as well).</summary>
    public static (string? Token, string? Problem) ReadToken(string path)
    {
        string token;
        try
        {
            token = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, File.Exists(path) ? $"cannot read '{path}': {e.Message}" : $"'{path}' does not exist");
        }

        return token.Length < MinTokenLength || token.Any(char.IsWhiteSpace)
            ? (null, $"'{path}' must hold one token of at least {MinTokenLength} characters without spaces (e.g. from 'openssl rand -hex 32')")
            : (token, null);
    }

    /// <summary>
    /// Once the port is known: the Host values served on loopback, the configured address or localhost with the
    /// port, and the authority of <see cref="CapFeedOptions.PublicBaseUrl"/> (a reverse proxy passing it on).
    /// </summary>
    public void Bound(CapFeedOptions options, int port)
    {
        string address = IPAddress.Parse(options.Address).AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{options.Address}]"
            : options.Address;
        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string name in new[] { address, "localhost" })
        {
            hosts.Add(string.Create(CultureInfo.InvariantCulture, $"{name}:{port}"));
            if (port == 80)
            {
                hosts.Add(name);
            }
        }

        if (options.PublicBaseUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
        {
            hosts.Add(uri.Authority);
            hosts.Add(string.Create(CultureInfo.InvariantCulture, $"{uri.Host}:{uri.Port}"));
        }

        _hosts = hosts;
    }

    /// <summary>True beyond loopback; on loopback, when Host names the feed itself (none is refused, as is any before <see cref="Bound"/>).</summary>
    public bool IsServedHost(HostString host) => !Loopback || (host.HasValue && _hosts is { } hosts && hosts.Contains(host.Value));

    /// <summary>Whether <c>Authorization: Bearer …</c> carries the token; compared in constant time, over hashes so the length does not show either.</summary>
    public bool HasToken(string? authorization)
    {
        if (_tokenHash is null)
        {
            return false;
        }

        const string scheme = "Bearer ";
        string presented = authorization is not null && authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            ? authorization[scheme.Length..].Trim()
            : string.Empty;
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _tokenHash);
    }

    /// <summary>
    /// A value from a request made fit for one log line: control and invisible formatting characters (line breaks,
    /// bidirectional overrides) become '?', and at most <paramref name="max"/> characters are kept.
    /// </summary>
    public static string ForLog(string? value, int max)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "(none)";
        }

        var text = new StringBuilder(Math.Min(value.Length, max) + 1);
        int kept = 0;
        foreach (Rune rune in value.EnumerateRunes())
        {
            if (kept == max)
            {
                text.Append('…');
                break;
            }

            UnicodeCategory category = Rune.GetUnicodeCategory(rune);
            bool invisible = category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
            text.Append(invisible ? "?" : rune.ToString());
            kept++;
        }

        return text.ToString();
    }
}
