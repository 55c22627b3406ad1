using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Http;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Outputs.OpenData.Archive;
using SensorKit.Gateway.Outputs.OpenData.Catalog;
using SensorKit.Gateway.Outputs.OpenData.SensorThings;
using SensorKit.Hosting;
using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Outputs.OpenData;

/// <summary>Open data: the SensorThings API, the daily CSV archive and its catalogue (docs/open-data.md).</summary>
public static class OpenDataExtensions
{
    public static IServiceCollection AddOpenData(this IServiceCollection services)
    {
        services.AddOptions<OpenDataOptions>().BindStrictly(OpenDataOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OpenDataOptions>, OpenDataOptionsValidator>();
        // The HTTP host's address is known once it listens.
        services.AddSingleton(sp => new OpenDataLinks(() => sp.GetRequiredService<GatewayHttpEndpoint>().BaseAddress));
        services.AddSingleton<NodePositionLog>();
        services.AddSingleton<StaService>();
        services.AddSingleton<StaMqttPublisher>();
        services.AddSingleton<ITelemetryConsumer>(sp => sp.GetRequiredService<StaMqttPublisher>());
        services.AddHostedService(sp => sp.GetRequiredService<StaMqttPublisher>());
        services.AddSingleton<DailyArchive>();
        services.AddSingleton<DcatCatalog>();
        services.AddHostedService(sp => sp.GetRequiredService<DailyArchive>());
        services.AddGatewayOutput<OpenDataOutput>();
        return services;
    }

    /// <summary>GET /sta/v1.1/… (SensorThings), /open-data/catalog.jsonld and /open-data/archive/…, served from <paramref name="gateway"/>'s services.</summary>
    public static IEndpointRouteBuilder MapOpenData(this IEndpointRouteBuilder endpoints, IServiceProvider gateway)
    {
        if (!gateway.GetRequiredService<IOptions<OpenDataOptions>>().Value.Enabled)
        {
            return endpoints;
        }

        StaService sta = gateway.GetRequiredService<StaService>();
        DailyArchive archive = gateway.GetRequiredService<DailyArchive>();
        DcatCatalog catalog = gateway.GetRequiredService<DcatCatalog>();
        endpoints.MapGet("/" + StaSchema.PathPrefix, (RequestDelegate)sta.HandleAsync);
        endpoints.MapGet("/" + StaSchema.PathPrefix + "/{**path}", (RequestDelegate)sta.HandleAsync);
        endpoints.MapGet("/open-data/catalog.jsonld", (RequestDelegate)catalog.WriteAsync);
        endpoints.MapGet("/open-data/archive/{**file}", (RequestDelegate)archive.ServeAsync);
        return endpoints;
    }
}

/// <summary>The SensorThings API, the archive and the catalogue on the gateway's HTTP host.</summary>
public sealed class OpenDataOutput(IServiceProvider gateway) : IGatewayOutput
{
    public void Map(IEndpointRouteBuilder endpoints) => endpoints.MapOpenData(gateway);
}
