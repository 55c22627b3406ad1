using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Http;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>
/// The CAP <c>web</c> link of each message (CAP 1.2 §3.2.2; the Google Public Alerts profile requires one):
/// Cap:Web with its placeholders replaced, or else the message's own document in the CAP feed,
/// <c>{CapFeed:PublicBaseUrl or the feed's address}/cap/{identifier}.xml</c>.
/// </summary>
public sealed class CapWebLinks
{
    private const string AlertIdPlaceholder = "{alertId}";
    private const string IdentifierPlaceholder = "{identifier}";

    private readonly string? _template;
    private readonly Uri? _configured;
    private readonly Func<Uri?> _listening;

    /// <param name="cap">Cap:Web.</param>
    /// <param name="feed">Where the feed is reached when nothing else says so.</param>
    /// <param name="listening">The address the running feed reports (null before it listens), for CapFeed:Port 0.</param>
    public CapWebLinks(IOptions<CapOptions> cap, IOptions<CapFeedOptions> feed, Func<Uri?> listening)
    {
        ArgumentNullException.ThrowIfNull(cap);
        ArgumentNullException.ThrowIfNull(feed);
        _template = cap.Value.Web;
        _configured = FeedBase(feed.Value);
        _listening = listening;
    }

    /// <summary>
    /// The link for one message; null only while a feed on a port picked at start (CapFeed:Port 0, tests and the
    /// demo) does not listen yet, which only the withdrawal of alerts of removed rules at start can meet.
    /// </summary>
    public Uri? For(string alertId, string identifier)
    {
        if (_template is not null)
        {
            return TryExpand(_template, alertId, identifier, out Uri? uri) ? uri : null;
        }

        Uri? feed = _configured ?? _listening();
        return feed is null ? null : new Uri(feed, $"cap/{Uri.EscapeDataString(identifier)}.xml");
    }

    /// <summary>Replaces the placeholders (escaped, as they may hold anything a site or rule id holds) and parses the result.</summary>
    public static bool TryExpand(string template, string alertId, string identifier, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Uri? uri)
    {
        ArgumentNullException.ThrowIfNull(template);
        string text = template
            .Replace(AlertIdPlaceholder, Uri.EscapeDataString(alertId), StringComparison.Ordinal)
            .Replace(IdentifierPlaceholder, Uri.EscapeDataString(identifier), StringComparison.Ordinal);

        // Anything still in braces is a misspelt placeholder, which would otherwise end up in every link.
        uri = null;
        return text.IndexOfAny(['{', '}']) < 0 && Uri.TryCreate(text, UriKind.Absolute, out uri);
    }

    // What the feed server's own links start with: PublicBaseUrl, else its configured address, unless the port is picked at start.
    private static Uri? FeedBase(CapFeedOptions o)
    {
        if (o.PublicBaseUrl is { } url)
        {
            return Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out Uri? uri) ? uri : null;
        }

        if (!o.Enabled || o.Port == 0 || !IPAddress.TryParse(o.Address, out IPAddress? ip))
        {
            return null;
        }

        string host = ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        return new Uri($"http://{host}:{o.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}/");
    }
}
