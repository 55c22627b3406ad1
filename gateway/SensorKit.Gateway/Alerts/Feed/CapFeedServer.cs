using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Http;
using SensorKit.Gateway.State;

namespace SensorKit.Gateway.Alerts.Feed;

/// <summary>
/// The CAP feed, an output on the gateway's HTTP host (<see cref="GatewayHttpHost"/>): an Atom index of the messages
/// of active and recent alerts at <c>/cap/feed.atom</c>, and every message's CAP document at the stable URL
/// <c>/cap/{identifier}.xml</c>, byte for byte as published on MQTT. Operators can withdraw an alert with
/// <c>POST /alerts/{alertId}/cancel</c>: on the gateway machine, or with the operator token (<see cref="FeedAccess"/>),
/// never from a web page. The cancel goes upstream through <see cref="IAlertCommands"/>.
/// </summary>
public sealed partial class CapFeedServer(
    GatewayHttpEndpoint http,
    IOptions<CapFeedOptions> options,
    IOptions<CapOptions> cap,
    IAlertStore store,
    IAlertCommands commands,
    TimeProvider time,
    ILogger<CapFeedServer> logger) : IGatewayOutput
{
    /// <summary>
    /// A cancel must name the operator in this header: browsers cannot send it cross-site without a preflight,
    /// which is never granted, and the log says who cancelled.
    /// </summary>
    public const string OperatorHeader = "X-SensorKit-Operator";

    /// <summary>Longest reason for a cancel, which becomes the CAP note of the Cancel message.</summary>
    public const int MaxReasonLength = 500;

    private const int MaxBodyBytes = GatewayHttpHost.MaxBodyBytes;

    private const int MaxOperatorLength = 64;

    private const int MaxFeedQueryLength = 256;

    private readonly CapFeedOptions _options = options.Value;
    private readonly ILogger _logger = logger;

    /// <summary>Where the feed is reached; null until started or when disabled.</summary>
    public Uri? BaseAddress => http.BaseAddress;

    /// <summary>Where the feed listens: <see cref="BaseAddress"/> unless a public URL is configured; null until started.</summary>
    public Uri? ListenAddress => http.ListenAddress;

    public Uri? FeedAddress => BaseAddress is null ? null : new Uri(BaseAddress, "cap/feed.atom");

    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/cap/feed.atom", (RequestDelegate)WriteFeedAsync);
        endpoints.MapGet("/cap/{identifier}.xml", (RequestDelegate)WriteMessageAsync);
        endpoints.MapPost("/alerts/{alertId}/cancel", (RequestDelegate)CancelAsync);
    }

    public void Started(Uri baseAddress) => LogListening(new Uri(baseAddress, "cap/feed.atom"));

    private async Task WriteFeedAsync(HttpContext context)
    {
        DateTimeOffset now = time.GetUtcNow();
        if (context.Request.QueryString.Value is { Length: > MaxFeedQueryLength })
        {
            context.Response.StatusCode = StatusCodes.Status414UriTooLong;
            return;
        }

        // ?lat=…&lon=…&radius=…: only messages whose CAP area touches that circle (a message without an area cannot be placed).
        PlaceQuery? place = PlaceQuery.Parse(context.Request.Query, PlaceQuery.DefaultFeedRadiusKm, out string? problem);
        if (problem is not null)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"{problem}\n", context.RequestAborted);
            return;
        }

        IReadOnlyList<StoredMessage> messages = store.LoadFeed(now - _options.Recent, _options.MaxEntries);
        if (place is not null)
        {
            messages = [.. messages.Where(m => m.Cap is { } cap && CapDigest.Read(cap) is { } digest && digest.Areas.Any(place.Touches))];
        }

        Uri self = new(BaseAddress!, "cap/feed.atom" + (place is null ? string.Empty : context.Request.QueryString.Value));
        var entries = messages.Select(m => new CapFeedEntry
        {
            Id = Link(m.Identifier),
            Title = m.Title,
            Updated = m.Sent,
            CapLink = Link(m.Identifier),
            Summary = m.Summary,
            Language = m.Language,
        }).ToList();
        var feed = new CapFeedMetadata
        {
            Id = self,
            Title = _options.Title,
            Updated = messages.Count > 0 ? messages[0].Sent : now,
            AuthorName = cap.Value.SenderName.GetValueOrDefault("de-DE") ?? cap.Value.Sender,
            SelfLink = self,
        };
        context.Response.ContentType = CapAtomFeed.MediaType + "; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        using var buffer = new MemoryStream();
        CapAtomFeed.Write(feed, entries, buffer);
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }

    private async Task WriteMessageAsync(HttpContext context)
    {
        string identifier = context.Request.RouteValues["identifier"] as string ?? string.Empty;
        if (!IdentifierPattern().IsMatch(identifier) || store.LoadMessage(identifier) is not { Cap: { } document })
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        // A CAP message never changes once sent, so its URL is permanent and may be cached for good.
        context.Response.ContentType = CapWriter.MediaType + "; charset=utf-8";
        context.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
        await context.Response.Body.WriteAsync(document, context.RequestAborted);
    }

    private async Task CancelAsync(HttpContext context)
    {
        FeedAccess access = http.Access!;
        HttpRequest request = context.Request;
        string alertId = context.Request.RouteValues["alertId"] as string ?? string.Empty;
        IPAddress? remote = context.Connection.RemoteIpAddress;
        if (Refusal(request, access, remote) is ({ } status, { } why))
        {
            LogCancelRefused(FeedAccess.ForLog(alertId, 100), remote, why);
            context.Response.StatusCode = status;
            if (status == StatusCodes.Status401Unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"sensorkit-gateway\"";
            }

            string how = access.TokenRequired ? "and Authorization: Bearer <operator token>" : "on the gateway machine";
            await context.Response.WriteAsync($"cancel refused: {why}. Send it with curl, not a browser, with {OperatorHeader}: <your name> {how}\n", context.RequestAborted);
            return;
        }

        (string? reason, int readStatus, string? problem) = await ReadReasonAsync(request, context.RequestAborted);
        if (problem is not null)
        {
            context.Response.StatusCode = readStatus;
            await context.Response.WriteAsync($"reason: {problem}\n", context.RequestAborted);
            return;
        }

        string who = FeedAccess.ForLog(request.Headers[OperatorHeader].ToString().Trim(), MaxOperatorLength);
        bool done = commands.Cancel(alertId, reason);
        LogCancel(FeedAccess.ForLog(alertId, 100), who, access.TokenRequired ? "operator token" : "gateway machine", remote, FeedAccess.ForLog(reason, MaxReasonLength), done ? "cancelled" : "no such active alert");
        context.Response.StatusCode = done ? StatusCodes.Status202Accepted : StatusCodes.Status404NotFound;
        await context.Response.WriteAsync(done ? $"cancelled {alertId}\n" : $"no active alert {alertId}\n", context.RequestAborted);
    }

    /// <summary>Why a cancel is not taken, with its status code; null when it may go ahead.</summary>
    private static (int Status, string Why)? Refusal(HttpRequest request, FeedAccess access, IPAddress? remote)
    {
        // Browsers send Origin with every POST; operators use curl or scripts, which do not.
        if (request.Headers.Origin.Count > 0)
        {
            return (StatusCodes.Status403Forbidden, "the request comes from a web page (it has an Origin header)");
        }

        if (access.TokenRequired)
        {
            if (!access.HasToken(request.Headers.Authorization))
            {
                return (StatusCodes.Status401Unauthorized, "no valid operator token");
            }
        }
        else if (remote is null || !IPAddress.IsLoopback(remote))
        {
            return (StatusCodes.Status403Forbidden, "not from the gateway machine");
        }

        if (request.Headers[OperatorHeader] is not [{ } name] || string.IsNullOrWhiteSpace(name))
        {
            return (StatusCodes.Status403Forbidden, $"no operator named in {OperatorHeader}");
        }

        return null;
    }

    /// <summary>
    /// Why the operator cancels: the query's <c>reason</c> (or its older name <c>note</c>), a form field
    /// <c>reason</c>, or a plain-text body. Required, one line, at most <see cref="MaxReasonLength"/> characters.
    /// </summary>
    private static async Task<(string? Reason, int Status, string? Problem)> ReadReasonAsync(HttpRequest request, CancellationToken ct)
    {
        string? reason = request.Query["reason"].FirstOrDefault() ?? request.Query["note"].FirstOrDefault();
        try
        {
            if (reason is null && request.HasFormContentType)
            {
                IFormCollection form = await request.ReadFormAsync(ct);
                reason = form["reason"].FirstOrDefault();
            }
            else if (reason is null && request.ContentLength is not 0)
            {
                using var reader = new StreamReader(request.Body, new UTF8Encoding(false, throwOnInvalidBytes: true));
                reason = await reader.ReadToEndAsync(ct);
            }
        }
        catch (BadHttpRequestException e)
        {
            return (null, e.StatusCode, $"the request body is over {MaxBodyBytes} bytes or malformed");
        }
        catch (InvalidDataException)
        {
            return (null, StatusCodes.Status400BadRequest, "the form is malformed");
        }
        catch (DecoderFallbackException)
        {
            return (null, StatusCodes.Status400BadRequest, "the body is not UTF-8 text");
        }

        reason = reason?.Trim();
        if (string.IsNullOrEmpty(reason))
        {
            return (null, StatusCodes.Status400BadRequest, "say why the alert is withdrawn (?reason=..., or as the request body); it becomes the CAP note");
        }

        if (reason.Length > MaxReasonLength || reason.Any(char.IsControl))
        {
            return (null, StatusCodes.Status400BadRequest, $"one line of at most {MaxReasonLength} characters");
        }

        return (reason, StatusCodes.Status202Accepted, null);
    }

    private Uri Link(string identifier) => new(BaseAddress!, $"cap/{Uri.EscapeDataString(identifier)}.xml");

    [GeneratedRegex("^[A-Za-z0-9._@-]{1,300}$")]
    private static partial Regex IdentifierPattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "CAP feed at {Feed}")]
    private partial void LogListening(Uri feed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cancel of alert {AlertId} by operator '{Operator}' ({Credential}, from {Remote}), reason '{Reason}': {Outcome}")]
    private partial void LogCancel(string alertId, string @operator, string credential, IPAddress? remote, string reason, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a cancel of alert {AlertId} from {Remote}: {Why}")]
    private partial void LogCancelRefused(string alertId, IPAddress? remote, string why);
}
