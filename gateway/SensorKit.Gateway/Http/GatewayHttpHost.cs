using System.Net;
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
using SensorKit.Gateway.Health;

namespace SensorKit.Gateway.Http;

/// <summary>
/// The gateway's one HTTP endpoint (Kestrel), with every <see cref="IGatewayOutput"/> plugged in, and the gateway's
/// counters at <c>/metrics</c> (Prometheus text format). Listens where CapFeed:Address and CapFeed:Port say; on
/// loopback it answers only requests whose Host names it (<see cref="FeedAccess"/>), so a page that rebinds its DNS
/// name to 127.0.0.1 gets nothing from any output.
/// </summary>
public sealed partial class GatewayHttpHost(
    IOptions<CapFeedOptions> options,
    GatewayHttpEndpoint endpoint,
    IEnumerable<IGatewayOutput> outputs,
    ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    /// <summary>No endpoint takes more; a larger body is refused before it is read.</summary>
    public const int MaxBodyBytes = 4096;

    private readonly CapFeedOptions _options = options.Value;
    private readonly ILogger _logger = loggers.CreateLogger<GatewayHttpHost>();
    private WebApplication? _app;

    /// <summary>Where the endpoint is reached; null until started or when disabled.</summary>
    public Uri? BaseAddress => endpoint.BaseAddress;

    /// <summary>Where the endpoint listens: <see cref="BaseAddress"/> unless a public URL is configured; null until started.</summary>
    public Uri? ListenAddress => endpoint.ListenAddress;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        FeedAccess access = FeedAccess.Create(_options);
        endpoint.Access = access;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(GatewayHttpHost).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        // Counters for operators' scrapers (Prometheus text format); the instruments are GatewayMetrics'.
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(GatewayMetrics.MeterName).AddPrometheusExporter());
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
            k.Listen(IPAddress.Parse(_options.Address), _options.Port);
        });
        WebApplication app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (!access.IsServedHost(context.Request.Host))
            {
                LogWrongHost(FeedAccess.ForLog(context.Request.Host.Value, 100), context.Connection.RemoteIpAddress);
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync("Host is not this feed's address\n", context.RequestAborted);
                return;
            }

            await next(context);
        });
        IGatewayOutput[] plugged = [.. outputs];
        foreach (IGatewayOutput output in plugged)
        {
            output.Map(app);
        }

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
        endpoint.ListenAddress = new Uri(bound.TrimEnd('/') + "/");
        access.Bound(_options, endpoint.ListenAddress.Port);
        Uri baseAddress = new((_options.PublicBaseUrl ?? bound).TrimEnd('/') + "/");
        endpoint.BaseAddress = baseAddress;
        foreach (IGatewayOutput output in plugged)
        {
            output.Started(baseAddress);
        }
    }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a request for Host '{Host}' from {Remote}: the feed answers only to its own address (DNS rebinding?)")]
    private partial void LogWrongHost(string host, IPAddress? remote);
}

/// <summary>
/// What the HTTP host tells its outputs once it listens: its addresses and who may use it. A singleton of its own,
/// so outputs need no reference to the host that holds them.
/// </summary>
public sealed class GatewayHttpEndpoint
{
    /// <summary>Where the endpoint is reached; null until started or when disabled.</summary>
    public Uri? BaseAddress { get; internal set; }

    /// <summary>Where the endpoint listens: <see cref="BaseAddress"/> unless a public URL is configured; null until started.</summary>
    public Uri? ListenAddress { get; internal set; }

    /// <summary>Who may use the endpoint (Host check, operator token); null until started.</summary>
    internal FeedAccess? Access { get; set; }
}
