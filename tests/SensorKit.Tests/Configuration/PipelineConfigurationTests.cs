using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SensorKit.Node;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sampling;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>Pipeline keys are checked at start; every error names its key.</summary>
public sealed class PipelineConfigurationTests
{
    private static (NodeOptions Options, ValidateOptionsResult Result) Validate(params (string Key, string? Value)[] overrides)
    {
        Dictionary<string, string?> values = Hosts.SimulatedNodeConfig("node-1", 1883);
        foreach ((string key, string? value) in overrides)
        {
            values[key] = value;
        }

        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        NodeOptions options = configuration.GetSection(NodeOptions.Section).Get<NodeOptions>()!;
        return (options, new NodeOptionsValidator(configuration).Validate(null, options));
    }

    [Theory]
    [InlineData("Node:Sensors:0:Channels:temperature:Window", "00:00:00.050", "Node:Sensors:0:Channels:temperature:Window: 00:00:00.0500000 is shorter than Node:Sensors:0:Interval 00:00:00.1000000")]
    [InlineData("Node:Sensors:0:Channels:temperature:Filters:0:Kind", "kalman", "Node:Sensors:0:Channels:temperature:Filters:0:Kind: unknown filter kind 'kalman' (known: range, median, moving-average, exponential-average, deadband, calibration)")]
    [InlineData("Node:Sensors:0:Channels:temperatur:StuckAfter", "5", "Node:Sensors:0:Channels:temperatur: the sensor has no channel 'temperatur' (it has: temperature, humidity, pressure, dew-point")]
    [InlineData("Node:Sensors:0:Channels:pressure:StuckAfter", "1", "Node:Sensors:0:Channels:pressure:StuckAfter: 1 must be 0 (off) or at least 2 readings")]
    [InlineData("Node:Sensors:0:Channels:pressure:Rate", "00:00:00.100", "Node:Sensors:0:Channels:pressure:Rate: 00:00:00.1000000 must span at least two sample intervals")]
    [InlineData("Node:Sensors:0:MountingHeight", "3.5", "Node:Sensors:0:MountingHeight: this sensor measures no distance")]
    public void A_bad_pipeline_key_is_named(string key, string value, string expected)
    {
        (_, ValidateOptionsResult result) = Validate((key, value));

        Assert.True(result.Failed);
        Assert.Contains(result.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("4", "Node:Sensors:0:Channels:temperature:Filters:0:Size: 4 must be an odd number from 3 to 1001")]
    [InlineData("1", "Node:Sensors:0:Channels:temperature:Filters:0:Size: 1 must be an odd number from 3 to 1001")]
    [InlineData(null, "Node:Sensors:0:Channels:temperature:Filters:0:Size: (missing) must be an odd number")]
    public void A_median_needs_an_odd_size_of_at_least_3(string? size, string expected)
    {
        (_, ValidateOptionsResult result) = Validate(
            ("Node:Sensors:0:Channels:temperature:Filters:0:Kind", "median"),
            ("Node:Sensors:0:Channels:temperature:Filters:0:Size", size));

        Assert.Contains(result.Failures!, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Keys_that_a_filter_kind_does_not_read_are_errors()
    {
        (_, ValidateOptionsResult result) = Validate(
            ("Node:Sensors:0:Channels:humidity:Filters:0:Kind", "exponential-average"),
            ("Node:Sensors:0:Channels:humidity:Filters:0:Alpha", "0.3"),
            ("Node:Sensors:0:Channels:humidity:Filters:0:Size", "5"),
            ("Node:Sensors:0:Channels:humidity:Filters:1:Kind", "range"),
            ("Node:Sensors:0:Channels:humidity:Filters:1:Min", "50"),
            ("Node:Sensors:0:Channels:humidity:Filters:1:Max", "10"));

        Assert.Equal(
            [
                "Node:Sensors:0:Channels:humidity:Filters:0:Size: a exponential-average filter has no Size",
                "Node:Sensors:0:Channels:humidity:Filters:1:Max: 10 must be above Min 50",
            ],
            result.Failures);
    }

    [Fact]
    public void A_valid_pipeline_configuration_builds_and_channel_keys_ignore_case()
    {
        (NodeOptions options, ValidateOptionsResult result) = Validate(
            ("Node:Sensors:0:Channels:Temperature:Window", "00:00:10"),
            ("Node:Sensors:0:Channels:Temperature:Filters:0:Kind", "Median"),
            ("Node:Sensors:0:Channels:Temperature:Filters:0:Size", "5"),
            ("Node:Sensors:0:Channels:Temperature:Filters:1:Kind", "calibration"),
            ("Node:Sensors:0:Channels:Temperature:Filters:1:Offset", "-0.4"),
            ("Node:Sensors:0:Channels:dew-point:Enabled", "false"),
            ("Node:Sensors:0:Channels:pressure:Rate", "00:15:00"));

        Assert.True(result.Succeeded, string.Join("; ", result.Failures ?? []));
        var registry = new SensorRegistry(Microsoft.Extensions.Options.Options.Create(options));
        SensorSlot slot = Assert.Single(registry.Slots);
        Assert.Contains(slot.Channels, c => c.Quantity == "pressure-rate" && c.Unit == "Pa/h");
        Assert.DoesNotContain(slot.Channels, c => c.Quantity == "dew-point");
        Assert.Equal(TimeSpan.FromSeconds(10), slot.Pipeline.Channels[0].Aggregator.Window);
        Assert.True(slot.Pipeline.Channels[0].Aggregator.Calibrated);
    }

    [Fact]
    public async Task The_node_exits_with_one_line_naming_the_pipeline_key()
    {
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("node-1", FreePort.Get());
        config["Node:Sensors:0:Channels:pressure:Filters:0:Kind"] = "median";
        config["Node:Sensors:0:Channels:pressure:Filters:0:Size"] = "4";
        using var host = Hosts.Node(config);
        var error = new StringWriter();

        int code = await NodeHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.Single(error.ToString().TrimEnd().Split('\n'));
        Assert.Contains("Node:Sensors:0:Channels:pressure:Filters:0:Size: 4 must be an odd number", error.ToString(), StringComparison.Ordinal);
    }
}
