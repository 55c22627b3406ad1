using System.Device.I2c;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SensorKit.Node.Configuration;
using SensorKit.Simulation.Emulators;

namespace SensorKit.Tests.Sensors;

/// <summary>Binds and validates one sensor's configuration the way the node does at start.</summary>
internal static class SensorConfig
{
    public static EmulatedI2cDevice Device(ChipEmulator chip) => new(chip, new I2cConnectionSettings(1, chip.Address));

    /// <summary>The sensor's options as the configuration binder makes them from "Node:Sensors:0:…" keys.</summary>
    public static SensorOptions Options(string type, params (string Key, string Value)[] settings) =>
        Bind(type, settings).Options.Sensors[0];

    /// <summary>The validator's failures for a node with this one sensor (empty when valid).</summary>
    public static IReadOnlyList<string> Errors(string type, params (string Key, string Value)[] settings)
    {
        (IConfiguration config, NodeOptions options) = Bind(type, settings);
        ValidateOptionsResult result = new NodeOptionsValidator(config).Validate(null, options);
        return result.Failed ? [.. result.Failures] : [];
    }

    private static (IConfiguration Config, NodeOptions Options) Bind(string type, (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string?>
        {
            ["Node:Id"] = "node-1",
            ["Node:Site"] = "test",
            ["Node:Window"] = "00:01:00",
            ["Node:Sensors:0:Type"] = type,
            ["Node:Sensors:0:Interval"] = "00:00:10",
        };
        foreach ((string key, string value) in settings)
        {
            values[$"Node:Sensors:0:{key}"] = value;
        }

        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        NodeOptions options = config.GetSection(NodeOptions.Section).Get<NodeOptions>()!;
        return (config, options);
    }
}
