using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SensorKit.Gateway.Http;

/// <summary>
/// An output with endpoints on the gateway's one HTTP host (<see cref="GatewayHttpHost"/>): the CAP feed today, an
/// open-data API or a status page later. A new output is its folder and one line in GatewayHost
/// (<c>services.AddGatewayOutput&lt;MyOutput&gt;()</c>); the host applies the Host check, the body limit and the
/// listen settings to every output alike. docs/architecture.md#add-an-output.
/// </summary>
public interface IGatewayOutput
{
    /// <summary>Adds the output's endpoints; called once, as the host starts (not at all when CapFeed:Enabled is false).</summary>
    void Map(IEndpointRouteBuilder endpoints);

    /// <summary>The host listens; <paramref name="baseAddress"/> is how others reach it.</summary>
    void Started(Uri baseAddress)
    {
    }
}

public static class GatewayOutputRegistration
{
    /// <summary>Registers <typeparamref name="T"/> once as itself and as an <see cref="IGatewayOutput"/> of the HTTP host.</summary>
    public static IServiceCollection AddGatewayOutput<T>(this IServiceCollection services)
        where T : class, IGatewayOutput
    {
        services.TryAddSingleton<T>();
        services.AddSingleton<IGatewayOutput>(sp => sp.GetRequiredService<T>());
        return services;
    }
}
