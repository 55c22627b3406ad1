using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;
using SensorKit.Simulation.Scenarios;

namespace SensorKit.Simulation;

/// <summary>Registers the simulated bus when "Simulation:Enabled" is true; otherwise the node uses the real buses.</summary>
public static class SimulationSetup
{
    public static IServiceCollection AddSensorKitSimulation(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => Build(
            sp.GetRequiredService<IOptions<NodeOptions>>().Value,
            sp.GetRequiredService<IOptions<SimulationOptions>>().Value,
            sp.GetRequiredService<TimeProvider>()));
        services.RemoveAll<II2cBusProvider>();
        services.AddSingleton<II2cBusProvider>(sp =>
            sp.GetRequiredService<IOptions<SimulationOptions>>().Value.Enabled
                ? sp.GetRequiredService<SimulatedI2cBus>()
                : new HardwareI2cBusProvider());
        return services;
    }

    /// <summary>One emulator per configured sensor, driven by the scenario if one is configured.</summary>
    public static SimulatedI2cBus Build(NodeOptions node, SimulationOptions sim, TimeProvider time)
    {
        Scenario? scenario = string.IsNullOrWhiteSpace(sim.Scenario) ? null : Scenario.Load(ResolveScenario(sim.Scenario));
        DateTimeOffset start = time.GetUtcNow();
        TimeSpan Clock() => sim.StartAt + ((time.GetUtcNow() - start) * sim.Speed);

        var bus = new SimulatedI2cBus();
        foreach (SensorOptions s in node.Sensors)
        {
            SensorType type = SensorCatalog.Get(s.Type);
            int address = s.ParseAddress(type.DefaultAddress)!.Value;
            var chip = SimulatedI2cBus.CreateEmulator(type.Name, address);
            scenario?.Apply(chip, node.Id, s.EffectiveId, type.Name, Clock);
            bus.Attach(s.Bus, chip);
        }

        return bus;
    }

    /// <summary>A relative scenario path is looked up in the working directory, then beside the executable, then in its scenarios folder.</summary>
    public static string ResolveScenario(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path))
        {
            return path;
        }

        foreach (string candidate in new[] { Path.Combine(AppContext.BaseDirectory, path), Path.Combine(AppContext.BaseDirectory, "scenarios", path), Path.Combine(AppContext.BaseDirectory, "scenarios", path + ".json") })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return path;
    }
}
