using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Health;
using SensorKit.Gateway.Rules;
using SensorKit.Gateway.State;

namespace SensorKit.Gateway.Alerts.Feed;

/// <summary>
/// The CAP feed over HTTP (Kestrel): an Atom index of the messages of active and recent alerts at
/// <c>/cap/feed.atom</c>, and every message's CAP document at the stable URL <c>/cap/{identifier}.xml</c>, byte
/// for byte as published on MQTT. Operators on the gateway machine can withdraw an alert with
/// <c>POST /alerts/{alertId}/cancel</c>.
/// </summary>
public sealed partial class CapFeedServer(
    IOptions<CapFeedOptions> options,
    IOptions<CapOptions> cap,
    AlertStore store,
    RuleEngine engine,
    TimeProvider time,
    ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    /// <summary>A request must carry this header to cancel: browsers cannot send it cross-site without a preflight, which is never granted.</summary>
    public const string OperatorHeader = "X-SensorKit-Operator";

    private readonly CapFeedOptions _options = options.Value;
    private readonly ILogger _logger = loggers.CreateLogger<CapFeedServer>();
    private WebApplication? _app;

    /// <summary>Where the feed is reached; null until started or when disabled.</summary>
    public Uri? BaseAddress { get; private set; }

    public Uri? FeedAddress => BaseAddress is null ? null : new Uri(BaseAddress, "cap/feed.atom");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(CapFeedServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        // Counters for operators' scrapers (Prometheus text format); the instruments are GatewayMetrics'.
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(GatewayMetrics.MeterName).AddPrometheusExporter());
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Parse(_options.Address), _options.Port);
        });
        WebApplication app = builder.Build();
        app.MapGet("/cap/feed.atom", (RequestDelegate)WriteFeedAsync);
        app.MapGet("/cap/{identifier}.xml", (RequestDelegate)WriteMessageAsync);
        app.MapPost("/alerts/{alertId}/cancel", (RequestDelegate)CancelAsync);
        app.MapPrometheusScrapingEndpoint("/metrics");
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new GatewayConfigurationException($"{CapFeedOptions.Section}:Port: cannot listen on {_options.Address}:{_options.Port}: {e.Message}", e);
        }

        _app = app;

        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri((_options.PublicBaseUrl ?? bound).TrimEnd('/') + "/");
        LogListening(new Uri(BaseAddress, "cap/feed.atom"));
    }

    private async Task WriteFeedAsync(HttpContext context)
    {
        DateTimeOffset now = time.GetUtcNow();
        List<StoredMessage> messages = store.LoadFeed(now - _options.Recent, _options.MaxEntries);
        Uri self = new(BaseAddress!, "cap/feed.atom");
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
        IPAddress? remote = context.Connection.RemoteIpAddress;
        if (remote is null || !IPAddress.IsLoopback(remote) || !context.Request.Headers.ContainsKey(OperatorHeader))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync($"cancel is accepted from the gateway machine only, with the header {OperatorHeader}\n", context.RequestAborted);
            return;
        }

        string alertId = context.Request.RouteValues["alertId"] as string ?? string.Empty;
        string? note = context.Request.Query["note"].FirstOrDefault();
        if (note is { Length: > 500 })
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("note: at most 500 characters\n", context.RequestAborted);
            return;
        }

        bool done = engine.Cancel(alertId, note);
        LogCancel(alertId, done);
        context.Response.StatusCode = done ? StatusCodes.Status202Accepted : StatusCodes.Status404NotFound;
        await context.Response.WriteAsync(done ? $"cancelled {alertId}\n" : $"no active alert {alertId}\n", context.RequestAborted);
    }

    private Uri Link(string identifier) => new(BaseAddress!, $"cap/{Uri.EscapeDataString(identifier)}.xml");

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9._@-]{1,300}$")]
    private static partial Regex IdentifierPattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "CAP feed at {Feed}")]
    private partial void LogListening(Uri feed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cancel of alert {AlertId} requested on the gateway machine: {Done}")]
    private partial void LogCancel(string alertId, bool done);
}
