using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Hosting;
using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Publishing;
using SensorKit.Node.Sampling;
using SensorKit.Node.Sensors;

namespace SensorKit.Node;

/// <summary>Builds and runs the node: sensors → sampling → pipeline → publishing.</summary>
public static class NodeHost
{
    /// <summary>The host of <see cref="HostRunner.CreateBuilder"/> with the node's services.</summary>
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        HostApplicationBuilder builder = HostRunner.CreateBuilder(args);
        builder.Services.AddSensorKitNode();
        return builder;
    }

    public static IServiceCollection AddSensorKitNode(this IServiceCollection services)
    {
        // Bound on the concrete types, so the configuration binding generator writes the binding code and a trimmed
        // build keeps what it sets; unknown keys are still refused (StrictConfiguration names them).
        services.AddOptions<NodeOptions>().BindConfiguration(NodeOptions.Section, Strict).NameUnknownKeys(NodeOptions.Section).ValidateOnStart();
        services.AddOptions<MqttOptions>().BindConfiguration(MqttOptions.Section, Strict).NameUnknownKeys(MqttOptions.Section).ValidateOnStart();
        services.AddOptions<SimulationOptions>().BindConfiguration(SimulationOptions.Section, Strict).NameUnknownKeys(SimulationOptions.Section).ValidateOnStart();
        services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section, Strict).NameUnknownKeys(OutboxOptions.Section).ValidateOnStart();
        services.AddOptions<HomeAssistantOptions>().BindConfiguration(HomeAssistantOptions.Section, Strict).NameUnknownKeys(HomeAssistantOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NodeOptions>, NodeOptionsValidator>();
        services.AddSingleton<IValidateOptions<MqttOptions>, MqttOptionsValidator>();
        services.AddSingleton<IValidateOptions<OutboxOptions>, OutboxOptionsValidator>();
        services.AddSingleton<IValidateOptions<HomeAssistantOptions>, HomeAssistantOptionsValidator>();
        services.AddSingleton<IValidateOptions<SimulationOptions>, SimulationOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<II2cBusProvider, HardwareI2cBusProvider>();
        services.AddSingleton<SensorRegistry>();
        // Opened (and recovered) when first needed, before sampling starts; a folder it cannot write stops the node.
        services.TryAddSingleton<IOutbox>(sp => DurableOutbox.Open(
            sp.GetRequiredService<IOptions<OutboxOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<DurableOutbox>>()));
        services.AddSingleton<TelemetrySink>();
        services.AddSingleton<IAggregateSink>(sp => sp.GetRequiredService<TelemetrySink>());
        services.AddSingleton<NodeStatusSource>();
        // The publisher is registered first so it stops last: sampling has stopped producing when it sends what is left.
        services.AddSingleton<MqttPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttPublisher>());
        services.AddSingleton<SamplingService>();
        services.AddHostedService(sp => sp.GetRequiredService<SamplingService>());
        return services;
    }

    private static void Strict(BinderOptions o) => o.ErrorOnUnknownConfiguration = true;

    /// <summary>Runs the host; a configuration error ends it with exit code 2 and one line naming the key.</summary>
    public static Task<int> RunAsync(IHost host, TextWriter error, CancellationToken ct = default) => HostRunner.RunAsync(host, error, ct);
}
