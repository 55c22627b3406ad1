using SensorKit.Node.Configuration;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>Mqtt:Brokers, the ordered list for failover: each entry checked at start, a bad one named by its index, exit code 2.</summary>
public sealed class BrokerListConfigurationTests
{
    [Theory]
    [InlineData("mqtt://127.0.0.1:1883", "mqtts://127.0.0.1:8883", null)]
    [InlineData("mqtt://127.0.0.1:1883", "mqtt://[::1]:1884", null)]
    [InlineData("mqtt://127.0.0.1:1883", "http://127.0.0.1:1884", "invalid configuration: Mqtt:Brokers:1: 'http://127.0.0.1:1884' is not a broker URI like mqtt://127.0.0.1:1883")]
    [InlineData("mqtt//nohost", "mqtt://127.0.0.1:1884", "invalid configuration: Mqtt:Brokers:0: 'mqtt//nohost' is not a broker URI")]
    [InlineData("mqtt://127.0.0.1:1883", "tcp://127.0.0.1:1884", "invalid configuration: Mqtt:Brokers:1: 'tcp://127.0.0.1:1884' is not a broker URI")]
    [InlineData("mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1884/sensorkit", "invalid configuration: Mqtt:Brokers:1: 'mqtt://127.0.0.1:1884/sensorkit' is not a broker URI")]
    [InlineData("mqtt://127.0.0.1:1883", "mqtt://127.0.0.1:1884?tls=1", "invalid configuration: Mqtt:Brokers:1: 'mqtt://127.0.0.1:1884?tls=1' is not a broker URI")]
    [InlineData("mqtt://127.0.0.1:1883", "", "invalid configuration: Mqtt:Brokers:1: '' is not a broker URI")]
    [InlineData("mqtt://127.0.0.1", "mqtt://127.0.0.1:1883", "invalid configuration: Mqtt:Brokers:1: mqtt://127.0.0.1:1883 is the same broker as Mqtt:Brokers:0")]
    [InlineData("mqtt://LOCALHOST:1883", "mqtts://localhost:1883", "invalid configuration: Mqtt:Brokers:1: mqtts://localhost:1883 is the same broker as Mqtt:Brokers:0")]
    [InlineData("mqtt://127.0.0.1:1883", "mqtt://broker.example:1883", "invalid configuration: Mqtt:Username: the broker mqtt://broker.example:1883 is not on this machine")]
    public async Task Each_broker_must_be_an_mqtt_uri_and_appear_once(string first, string second, string? expected)
    {
        (int, string) run = await ConfigurationRun.NodeAsync(("Mqtt:Broker", null), ("Mqtt:Brokers:0", first), ("Mqtt:Brokers:1", second));

        ConfigurationRun.AssertOutcome(run, expected);
    }

    [Fact]
    public async Task Credentials_in_a_broker_uri_are_refused_and_not_repeated()
    {
        (int, string Error) run = await ConfigurationRun.NodeAsync(("Mqtt:Broker", null), ("Mqtt:Brokers:0", "mqtt://127.0.0.1:1883"), ("Mqtt:Brokers:1", "mqtts://river-3:s3cret@127.0.0.1:8883"));

        ConfigurationRun.AssertOutcome(run, "invalid configuration: Mqtt:Brokers:1: holds a user name or password (not repeated here); put them in Mqtt:Username and Mqtt:PasswordFile instead");
        Assert.DoesNotContain("s3cret", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task At_most_eight_brokers()
    {
        (string, string?)[] nine = [("Mqtt:Broker", null), .. Enumerable.Range(0, 9).Select(i => ($"Mqtt:Brokers:{i}", (string?)$"mqtt://127.0.0.1:{18830 + i}"))];
        (string, string?)[] eight = nine[..^1];

        ConfigurationRun.AssertOutcome(await ConfigurationRun.NodeAsync(nine), "invalid configuration: Mqtt:Brokers: 9 brokers; at most 8");
        ConfigurationRun.AssertOutcome(await ConfigurationRun.NodeAsync(eight), null);
    }

    [Fact]
    public async Task Broker_and_brokers_together_are_refused_unless_broker_is_cleared()
    {
        ConfigurationRun.AssertOutcome(
            await ConfigurationRun.NodeAsync(("Mqtt:Broker", "mqtt://127.0.0.1:1883"), ("Mqtt:Brokers:0", "mqtt://127.0.0.1:1884")),
            "invalid configuration: Mqtt:Brokers: set either Mqtt:Broker (one broker) or Mqtt:Brokers (a list in order of preference), not both");
        ConfigurationRun.AssertOutcome(await ConfigurationRun.NodeAsync(("Mqtt:Broker", string.Empty), ("Mqtt:Brokers:0", "mqtt://127.0.0.1:1884")), null);
    }

    [Fact]
    public async Task A_plain_value_for_the_list_is_refused_not_ignored()
    {
        // Mqtt__Brokers=mqtt://… in the environment: the binder would skip it and the node would use the default broker.
        (int, string) run = await ConfigurationRun.NodeAsync(("Mqtt:Broker", null), ("Mqtt:Brokers", "mqtt://127.0.0.1:1884"));

        ConfigurationRun.AssertOutcome(run, "invalid configuration: Mqtt:Brokers: a list, one key per broker (Mqtt:Brokers:0, Mqtt:Brokers:1 …");
    }

    [Theory]
    [InlineData("-00:00:01", "invalid configuration: Mqtt:PreferPrimaryAfter: -00:00:01 must be zero (never) or a positive time")]
    [InlineData("00:00:00", null)]
    [InlineData("00:10:00", null)]
    public async Task Prefer_primary_after_is_zero_or_positive(string value, string? expected)
    {
        (int, string) run = await ConfigurationRun.NodeAsync(("Mqtt:Broker", null), ("Mqtt:Brokers:0", "mqtt://127.0.0.1:1883"), ("Mqtt:Brokers:1", "mqtt://127.0.0.1:1884"), ("Mqtt:PreferPrimaryAfter", value));

        ConfigurationRun.AssertOutcome(run, expected);
    }

    [Fact]
    public void One_broker_or_none_keeps_working_as_before()
    {
        Assert.Equal(["mqtt://127.0.0.1:1883"], new MqttOptions().ParseBrokers().Select(MqttOptions.Name));
        Assert.Equal(["mqtts://10.0.0.2:8883"], new MqttOptions { Broker = "mqtts://10.0.0.2" }.ParseBrokers().Select(MqttOptions.Name));
        Assert.Equal(
            ["mqtt://10.0.0.2:1883", "mqtts://10.0.0.3:8883"],
            new MqttOptions { Brokers = ["mqtt://10.0.0.2", "mqtts://10.0.0.3:8883"] }.ParseBrokers().Select(MqttOptions.Name));
    }
}
