using SensorKit.Gateway;
using SensorKit.Node;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>A bad configuration stops the process at start with exit code 2 and one line that names the key.</summary>
public sealed class ConfigurationValidationTests
{
    [Theory]
    [InlineData("Node:Sensors:0:Type", "bme999", "Node:Sensors:0:Type: unknown sensor type 'bme999'")]
    [InlineData("Node:Sensors:0:Address", "0x78", "Node:Sensors:0:Address: 0x78 is outside the 7-bit range 0x03-0x77")]
    [InlineData("Node:Sensors:0:Address", "0x02", "Node:Sensors:0:Address: 0x02 is outside the 7-bit range 0x03-0x77")]
    [InlineData("Node:Sensors:0:Address", "seventy", "Node:Sensors:0:Address: 'seventy' is not a number")]
    [InlineData("Node:Sensors:0:Interval", "00:00:00", "Node:Sensors:0:Interval: 00:00:00 must be positive")]
    [InlineData("Node:Sensors:0:Interval", "-00:00:01", "Node:Sensors:0:Interval: -00:00:01 must be positive")]
    [InlineData("Mqtt:Broker", "mqtt//nohost", "Mqtt:Broker: 'mqtt//nohost' is not a broker URI")]
    [InlineData("Mqtt:Broker", "http://127.0.0.1:1883", "Mqtt:Broker: 'http://127.0.0.1:1883' is not a broker URI")]
    [InlineData("Mqtt:Broker", "mqtt://broker.example:1883", "Mqtt:Username: the broker mqtt://broker.example:1883 is not on this machine")]
    [InlineData("Node:Id", "node/1", "Node:Id: 'node/1' must be 1-64 characters")]
    public async Task Invalid_node_configuration_exits_with_one_line_naming_the_key(string key, string value, string expected)
    {
        (int code, string error) = await ConfigurationRun.NodeAsync((key, value));

        Assert.Equal(2, code);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_sensor_at_a_taken_address_is_rejected()
    {
        (int code, string error) = await ConfigurationRun.NodeAsync(
            ("Node:Sensors:1:Id", "second"),
            ("Node:Sensors:1:Type", "bme280"),
            ("Node:Sensors:1:Address", "0x76"),
            ("Node:Sensors:1:Interval", "00:00:01"));

        Assert.Equal(2, code);
        Assert.Contains("Node:Sensors:1:Address: 0x76 on bus 1 is already taken by sensor 'bme280'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unparseable_interval_names_the_key()
    {
        (int code, string error) = await ConfigurationRun.NodeAsync(("Node:Sensors:0:Interval", "soon"));

        Assert.Equal(2, code);
        Assert.Contains("Node:Sensors:0:Interval", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_scenario_file_names_the_file()
    {
        (int code, string error) = await ConfigurationRun.NodeAsync(("Simulation:Scenario", "no-such-scenario.json"));

        Assert.Equal(2, code);
        Assert.Contains("no-such-scenario.json", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_refuses_a_network_facing_broker_without_accounts()
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["Broker:Address"] = "0.0.0.0";
        config["Broker:AllowPlainTcp"] = "true";
        config.Remove("Broker:AccountsFile");
        using var host = Hosts.Gateway(config);
        var error = new StringWriter();

        int code = await GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.Contains("Broker:AccountsFile: the broker would listen on an address reachable from the network without any account", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("There are no default passwords", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gateway_rule_errors_name_the_rule_and_key()
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["Rules:Threshold:0:Id"] = "heat";
        config["Rules:Threshold:0:Quantity"] = "temperature";
        config["Rules:Threshold:0:Above"] = "35";
        config["Rules:Threshold:0:Severity"] = "Terrible";
        using var host = Hosts.Gateway(config);
        var error = new StringWriter();

        int code = await GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.Contains("Rules:Threshold:0 (rule 'heat'):Severity: 'Terrible' is not one of", error.ToString(), StringComparison.Ordinal);
    }
}
