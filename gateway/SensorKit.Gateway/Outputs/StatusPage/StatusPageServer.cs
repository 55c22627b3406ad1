using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.Http;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>
/// The HTTP side of the status page: language, the layout around a page, security headers, ETag and compression,
/// the stylesheet and script, the operator check, and the live-update stream (server-sent events).
/// </summary>
internal sealed class StatusPageServer(StatusPages pages, LiveHub live, IOptions<StatusPageOptions> options, IOptions<CapFeedOptions> feed, TimeProvider time)
{
    /// <summary>Longest query string taken; the forms need far less.</summary>
    public const int MaxQueryLength = 512;

    private const string Csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    private static readonly Dictionary<string, Asset> Assets = new(StringComparer.Ordinal)
    {
        ["status.css"] = Asset.Load("status.css", "text/css; charset=utf-8"),
        ["status.js"] = Asset.Load("status.js", "text/javascript; charset=utf-8"),
    };

    private readonly Lazy<FeedAccess> _access = new(() => FeedAccess.Create(feed.Value));
    private int _liveClients;

    public Task PageAsync(HttpContext context, Func<PageRequest, Page> render)
    {
        if (context.Request.QueryString.Value is { Length: > MaxQueryLength })
        {
            context.Response.StatusCode = StatusCodes.Status414UriTooLong;
            return Task.CompletedTask;
        }

        PageRequest request = Request(context);
        return WriteAsync(context, request, render(request), cache: "no-cache");
    }

    public Task OperatorAsync(HttpContext context)
    {
        PageRequest request = Request(context);
        FeedAccess access = _access.Value;
        if (access.TokenRequired ? !access.HasToken(Bearer(context.Request.Headers.Authorization)) : context.Connection.RemoteIpAddress is not { } ip || !IPAddress.IsLoopback(ip))
        {
            if (access.TokenRequired)
            {
                // Basic, so a browser asks for it; the password is the operator token, the user name is not checked.
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"SensorKit operator\", charset=\"UTF-8\"";
            }

            int status = access.TokenRequired ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden;
            return WriteAsync(context, request, StatusPages.Denied(request, status), cache: "no-store");
        }

        return WriteAsync(context, request, pages.Operator(request), cache: "no-store");
    }

    public static async Task AssetAsync(HttpContext context)
    {
        string name = context.Request.RouteValues["name"] as string ?? string.Empty;
        if (!Assets.TryGetValue(name, out Asset? asset))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        SecurityHeaders(context.Response);
        // Pages link assets with their hash (?v=…), so a new version has a new URL and this one never changes.
        context.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        await SendAsync(context, asset.Bytes, asset.ContentType, asset.ETag, (asset.Brotli, asset.Gzip));
    }

    /// <summary>
    /// Server-sent events: "alerts" when the active alerts changed, "telemetry" when new measurements arrived (at most
    /// every <see cref="StatusPageOptions.TelemetryInterval"/>), a comment every 15 s to keep proxies from closing it.
    /// </summary>
    public async Task EventsAsync(HttpContext context)
    {
        if (Interlocked.Increment(ref _liveClients) > options.Value.MaxLiveClients)
        {
            Interlocked.Decrement(ref _liveClients);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "60";
            return;
        }

        IHostApplicationLifetime lifetime = (IHostApplicationLifetime)context.RequestServices.GetService(typeof(IHostApplicationLifetime))!;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        CancellationToken ct = stop.Token;
        try
        {
            HttpResponse response = context.Response;
            SecurityHeaders(response);
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-store";
            response.Headers["X-Accel-Buffering"] = "no";
            await response.WriteAsync("retry: 10000\n\n", ct);
            await response.Body.FlushAsync(ct);
            (long alerts, long telemetry) = (live.AlertVersion, live.TelemetryVersion);
            while (!ct.IsCancellationRequested)
            {
                Task<(long Alerts, long Telemetry)> change = live.WaitAsync(alerts, telemetry, ct);
                if (await Task.WhenAny(change, Task.Delay(Heartbeat, time, ct)) == change)
                {
                    (long a, long t) = await change;
                    var text = new StringBuilder();
                    if (a != alerts)
                    {
                        text.Append("event: alerts\ndata: ").Append(a).Append("\n\n");
                    }

                    if (t != telemetry)
                    {
                        text.Append("event: telemetry\ndata: ").Append(t).Append("\n\n");
                    }

                    (alerts, telemetry) = (a, t);
                    await response.WriteAsync(text.ToString(), ct);
                }
                else
                {
                    await response.WriteAsync(": keep-alive\n\n", ct);
                }

                await response.Body.FlushAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The visitor left or the gateway stops: the stream simply ends.
        }
        finally
        {
            Interlocked.Decrement(ref _liveClients);
        }
    }

    private PageRequest Request(HttpContext context)
    {
        string path = context.Request.Path.Value is { } p && p.StartsWith(StatusPageExtensions.PathBase, StringComparison.Ordinal) ? p[StatusPageExtensions.PathBase.Length..] : "/";
        return new PageRequest(StatusText.For(Language(context.Request)), path.Length == 0 ? "/" : path, context.Request.Query);
    }

    /// <summary>?lang=de|en first (the switch), then Accept-Language by quality, then the configured default.</summary>
    private string Language(HttpRequest request)
    {
        if (request.Query["lang"] is [string chosen] && chosen is "de" or "en")
        {
            return chosen;
        }

        IList<StringWithQualityHeaderValue> accepted = request.GetTypedHeaders().AcceptLanguage;
        foreach (StringWithQualityHeaderValue value in accepted.OrderByDescending(v => v.Quality ?? 1))
        {
            string tag = value.Value.Value ?? string.Empty;
            if ((value.Quality ?? 1) > 0 && (tag.StartsWith("de", StringComparison.OrdinalIgnoreCase) || tag.StartsWith("en", StringComparison.OrdinalIgnoreCase)))
            {
                return tag[..2].ToLowerInvariant();
            }
        }

        return options.Value.DefaultLanguage;
    }

    private static async Task WriteAsync(HttpContext context, PageRequest request, Page page, string cache)
    {
        var html = new HtmlBuilder();
        if (request.Param("part") == "live")
        {
            page.Live(html);
        }
        else
        {
            Layout(html, request, page);
        }

        byte[] body = Encoding.UTF8.GetBytes(html.ToString());
        HttpResponse response = context.Response;
        SecurityHeaders(response);
        response.StatusCode = page.Status;
        response.Headers.CacheControl = cache;
        response.Headers.ContentLanguage = request.Text.Language;
        response.Headers.Vary = "Accept-Language, Accept-Encoding";
        await SendAsync(context, body, "text/html; charset=utf-8", ETag(body), null);
    }

    private static void Layout(HtmlBuilder h, PageRequest r, Page page)
    {
        StatusText t = r.Text;
        h.Doctype().Open("html", ("lang", t.Language)).Open("head");
        h.Void("meta", ("charset", "utf-8"));
        h.Void("meta", ("name", "viewport"), ("content", "width=device-width, initial-scale=1"));
        h.Void("meta", ("name", "color-scheme"), ("content", "light dark"));
        h.Element("title", $"{page.Title} – {t.SiteName}");
        h.Void("link", ("rel", "stylesheet"), ("href", Assets["status.css"].Href));
        h.Void("link", ("rel", "alternate"), ("type", CapAtomFeed.MediaType), ("title", t.FeedLink), ("href", "/cap/feed.atom"));
        h.Element("script", null, ("src", Assets["status.js"].Href), ("defer", ""));
        h.Close("head").Open("body");
        h.Element("a", t.SkipLink, ("class", "skip"), ("href", "#main"));
        h.Open("header", ("class", "top"));
        h.Open("p", ("class", "brand")).Element("a", t.SiteName, ("href", r.Link("/"))).Close("p");
        h.Open("nav", ("aria-label", t.Navigation)).Open("ul");
        foreach ((string key, string label, string path) in new[] { ("warnings", t.NavWarnings, "/"), ("nodes", t.NavNodes, "/nodes"), ("history", t.NavHistory, "/history") })
        {
            h.Open("li").Element("a", label, ("href", r.Link(path)), ("aria-current", key == page.Nav ? "page" : null)).Close("li");
        }

        h.Close("ul").Close("nav");
        StatusText other = t.Other;
        h.Open("p", ("class", "lang")).Element("a", other.LanguageName, ("href", SelfLink(r, other.Language, live: false)), ("lang", other.Language), ("hreflang", other.Language)).Close("p");
        h.Close("header");

        h.Open("main", ("id", "main"), ("tabindex", "-1"));
        page.Before?.Invoke(h);
        h.Open("div", ("class", "live-bar"), ("data-live-bar", ""), ("hidden", ""), ("data-pause", t.LivePause), ("data-on", t.LiveOn), ("data-paused", t.LivePaused));
        h.Element("button", t.LivePause, ("type", "button"), ("aria-pressed", "false"));
        h.Text(" ").Element("span", null, ("role", "status"), ("aria-live", "polite"), ("data-live-status", ""));
        h.Close("div");
        h.Open("div", ("id", "live"), ("data-live", SelfLink(r, t.Language, live: true)));
        page.Live(h);
        h.Close("div");
        page.After?.Invoke(h);
        h.Close("main");

        h.Open("footer", ("class", "bottom")).Element("p", t.FooterNote).Open("ul");
        h.Open("li").Element("a", t.FeedLink, ("href", "/cap/feed.atom"), ("type", CapAtomFeed.MediaType)).Close("li");
        h.Open("li").Element("a", t.OpenDataLink, ("href", "/sta/v1.1")).Close("li");
        h.Open("li").Element("a", t.NavOperator, ("href", r.Link("/operator"))).Close("li");
        h.Close("ul").Close("footer");
        h.Close("body").Close("html");
    }

    /// <summary>This page again in <paramref name="language"/>, with its own query parameters (re-encoded); <paramref name="live"/> asks for the live part only.</summary>
    private static string SelfLink(PageRequest r, string language, bool live)
    {
        var query = new StringBuilder("?lang=").Append(language);
        foreach ((string key, StringValues values) in r.Query)
        {
            if (key is "lang" or "part" || values.Count != 1)
            {
                continue;
            }

            query.Append('&').Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(values[0] ?? string.Empty));
        }

        if (live)
        {
            query.Append("&part=live");
        }

        return StatusPageExtensions.PathBase + (r.Path == "/" ? "/" : string.Join('/', r.Path.Split('/').Select(Uri.EscapeDataString))) + query;
    }

    private static void SecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = Csp;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=()";
        response.Headers["Cross-Origin-Opener-Policy"] = "same-origin";
    }

    /// <summary>The body, or 304 when the client has it; compressed with Brotli or gzip when the client takes it.</summary>
    private static async Task SendAsync(HttpContext context, byte[] body, string contentType, string etag, (byte[] Brotli, byte[] Gzip)? precompressed)
    {
        HttpResponse response = context.Response;
        string? encoding = ContentCoding(context.Request);
        string tag = encoding is null ? etag : etag.Insert(etag.Length - 1, "-" + encoding);
        response.Headers.ETag = tag;
        response.Headers.Vary = response.Headers.Vary.Count > 0 ? response.Headers.Vary : "Accept-Encoding";
        if (response.StatusCode == StatusCodes.Status200OK && context.Request.Headers.IfNoneMatch.ToString().Split(',').Select(v => v.Trim()).Any(v => v == tag || v == "*"))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        byte[] payload = encoding switch
        {
            "br" => precompressed?.Brotli ?? Compress(body, s => new BrotliStream(s, CompressionLevel.Optimal, leaveOpen: true)),
            "gzip" => precompressed?.Gzip ?? Compress(body, s => new GZipStream(s, CompressionLevel.Optimal, leaveOpen: true)),
            _ => body,
        };
        if (encoding is not null)
        {
            response.Headers.ContentEncoding = encoding;
        }

        response.ContentType = contentType;
        response.ContentLength = payload.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(payload, context.RequestAborted);
        }
    }

    private static string? ContentCoding(HttpRequest request)
    {
        var accepted = request.GetTypedHeaders().AcceptEncoding.Where(e => (e.Quality ?? 1) > 0).Select(e => e.Value.Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return accepted.Contains("br") ? "br" : accepted.Contains("gzip") ? "gzip" : null;
    }

    private static byte[] Compress(byte[] body, Func<Stream, Stream> compressor)
    {
        using var buffer = new MemoryStream();
        using (Stream z = compressor(buffer))
        {
            z.Write(body);
        }

        return buffer.ToArray();
    }

    private static string ETag(byte[] body) => $"\"{Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 12))}\"";

    /// <summary>Bearer from the header, or the password of Basic (what a browser sends after the prompt).</summary>
    private static string? Bearer(string? authorization)
    {
        const string basic = "Basic ";
        if (authorization is null || !authorization.StartsWith(basic, StringComparison.OrdinalIgnoreCase) || authorization.Length > 1024)
        {
            return authorization;
        }

        Span<byte> decoded = stackalloc byte[768];
        if (!Convert.TryFromBase64String(authorization[basic.Length..].Trim(), decoded, out int length))
        {
            return null;
        }

        string pair = System.Text.Encoding.UTF8.GetString(decoded[..length]);
        int colon = pair.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? null : "Bearer " + pair[(colon + 1)..];
    }

    /// <summary>A stylesheet or script from the assembly, with its hash and compressed forms made once.</summary>
    private sealed record Asset(string Href, string ContentType, byte[] Bytes, string ETag, byte[] Brotli, byte[] Gzip)
    {
        public static Asset Load(string name, string contentType)
        {
            using Stream stream = typeof(Asset).Assembly.GetManifestResourceStream($"SensorKit.Gateway.Outputs.StatusPage.Assets.{name}")
                ?? throw new InvalidOperationException($"The status page asset {name} is not embedded.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] bytes = copy.ToArray();
            string etag = StatusPageServer.ETag(bytes);
            return new Asset(
                $"{StatusPageExtensions.PathBase}/assets/{name}?v={etag.Trim('"')[..12]}",
                contentType,
                bytes,
                etag,
                Compress(bytes, s => new BrotliStream(s, CompressionLevel.SmallestSize, leaveOpen: true)),
                Compress(bytes, s => new GZipStream(s, CompressionLevel.SmallestSize, leaveOpen: true)));
        }
    }
}
