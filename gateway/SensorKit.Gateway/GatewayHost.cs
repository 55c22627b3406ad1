using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Alerts;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Rules;
using SensorKit.Hosting;

namespace SensorKit.Gateway;

/// <summary>Builds and runs the gateway: broker → ingest → rules → alerts.</summary>
public static class GatewayHost
{
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services.AddSystemd();
        builder.Services.AddSystemdWatchdog();
        builder.Services.AddSensorKitGateway();
        return builder;
    }

    public static IServiceCollection AddSensorKitGateway(this IServiceCollection services)
    {
        services.AddOptions<BrokerOptions>().BindConfiguration(BrokerOptions.Section).ValidateOnStart();
        services.AddOptions<RulesOptions>().BindConfiguration(RulesOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BrokerOptions>, BrokerOptionsValidator>();
        services.AddSingleton<IValidateOptions<RulesOptions>, RulesOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);

        // Order matters: the broker must listen before the gateway's client connects to it.
        services.AddSingleton<EmbeddedBroker>();
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedBroker>());
        services.AddSingleton<RuleEngine>();
        services.AddSingleton<AlertPublisher>();
        services.AddSingleton<TelemetryIngest>();
        services.AddSingleton<GatewayConnection>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayConnection>());
        return services;
    }

    /// <summary>Runs the host; a configuration error ends it with exit code 2 and one line naming the key.</summary>
    public static async Task<int> RunAsync(IHost host, TextWriter error, CancellationToken ct = default)
    {
        try
        {
            await host.RunAsync(ct);
            return 0;
        }
        catch (OptionsValidationException e)
        {
            await error.WriteLineAsync($"invalid configuration: {string.Join("; ", e.Failures)}");
            return 2;
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
        {
            await error.WriteLineAsync($"invalid configuration: {e.Message}");
            return 2;
        }
    }
}
