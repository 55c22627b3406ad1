using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Http;
using SensorKit.Gateway.Ingest;
using SensorKit.Hosting;
using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>The public status page under /status (docs/status-page.md).</summary>
public static class StatusPageExtensions
{
    public const string PathBase = "/status";

    public static IServiceCollection AddStatusPage(this IServiceCollection services)
    {
        services.AddOptions<StatusPageOptions>().BindStrictly(StatusPageOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StatusPageOptions>, StatusPageOptionsValidator>();
        // A telemetry consumer after the history: it keeps each channel's latest value and wakes the live pages.
        services.AddSingleton<LiveHub>();
        services.AddSingleton<ITelemetryConsumer>(sp => sp.GetRequiredService<LiveHub>());
        services.AddHostedService(sp => sp.GetRequiredService<LiveHub>());
        services.AddSingleton<RejectionCounts>();
        services.AddSingleton<StatusData>();
        // The HTTP host's address is known once it listens.
        services.AddSingleton(sp => new StatusPages(sp.GetRequiredService<StatusData>(), sp.GetRequiredService<RejectionCounts>(), () => sp.GetRequiredService<GatewayHttpEndpoint>().BaseAddress));
        services.AddSingleton<StatusPageServer>();
        services.AddGatewayOutput<StatusPageOutput>();
        return services;
    }

    /// <summary>GET /status/… (pages, assets, live events), served from <paramref name="gateway"/>'s services.</summary>
    public static IEndpointRouteBuilder MapStatusPage(this IEndpointRouteBuilder endpoints, IServiceProvider gateway)
    {
        if (!gateway.GetRequiredService<IOptions<StatusPageOptions>>().Value.Enabled)
        {
            return endpoints;
        }

        StatusPageServer server = gateway.GetRequiredService<StatusPageServer>();
        StatusPages pages = gateway.GetRequiredService<StatusPages>();
        string[] methods = [HttpMethods.Get, HttpMethods.Head];
        endpoints.MapMethods(PathBase, methods, (RequestDelegate)(c => server.PageAsync(c, pages.Warnings)));
        endpoints.MapMethods(PathBase + "/place", methods, (RequestDelegate)(c => server.PageAsync(c, pages.Place)));
        endpoints.MapMethods(PathBase + "/nodes", methods, (RequestDelegate)(c => server.PageAsync(c, pages.Nodes)));
        endpoints.MapMethods(PathBase + "/nodes/{site}/{node}", methods, (RequestDelegate)(c => server.PageAsync(c, r =>
            pages.Node(r, c.Request.RouteValues["site"] as string ?? string.Empty, c.Request.RouteValues["node"] as string ?? string.Empty))));
        endpoints.MapMethods(PathBase + "/history", methods, (RequestDelegate)(c => server.PageAsync(c, pages.AlertHistory)));
        endpoints.MapMethods(PathBase + "/operator", methods, (RequestDelegate)server.OperatorAsync);
        endpoints.MapMethods(PathBase + "/assets/{name}", methods, (RequestDelegate)StatusPageServer.AssetAsync);
        endpoints.MapGet(PathBase + "/events", (RequestDelegate)server.EventsAsync);
        endpoints.MapMethods(PathBase + "/{**rest}", methods, (RequestDelegate)(c => server.PageAsync(c, StatusPages.NotFound)));
        return endpoints;
    }
}

/// <summary>The status page on the gateway's HTTP host.</summary>
public sealed class StatusPageOutput(IServiceProvider gateway) : IGatewayOutput
{
    public void Map(IEndpointRouteBuilder endpoints) => endpoints.MapStatusPage(gateway);
}
