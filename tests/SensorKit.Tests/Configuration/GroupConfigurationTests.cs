using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>Group:*: a member needs the external broker and PostgreSQL, and a site list it can serve; one line naming the key, exit code 2.</summary>
public sealed class GroupConfigurationTests
{
    private static Dictionary<string, string?> Member(params (string Key, string? Value)[] overrides)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["Broker:Mode"] = "External";
        config["Broker:Uri"] = "mqtt://127.0.0.1:1";
        config["Broker:AccountsFile"] = null;
        config["State:Provider"] = "PostgreSql";
        config["State:ConnectionString"] = "Host=127.0.0.1;Port=1;Database=sensorkit";
        config["Group:Member"] = "g1";
        config["Group:Sites:0"] = "s1";
        config["Group:Sites:1"] = "s2";
        foreach ((string key, string? value) in overrides)
        {
            config[key] = value;
        }

        return config;
    }

    [Theory]
    [InlineData("Group:Member", "g 1", "invalid configuration: Group:Member: 'g 1' must be 1-64 letters, digits, '-' or '_'")]
    [InlineData("Group:Sites:1", "s1", "invalid configuration: Group:Sites:1: 's1' is listed twice")]
    [InlineData("Group:Sites:1", "s/2", "invalid configuration: Group:Sites:1: 's/2' is not a site name")]
    [InlineData("Group:RenewInterval", "00:00:05", "invalid configuration: Group:RenewInterval: 00:00:05 must be positive and at most half of Group:LeaseTime (00:00:09)")]
    [InlineData("Group:LeaseTime", "00:00:00.5", "invalid configuration: Group:LeaseTime: 00:00:00.5000000 must be between 1 second and 10 minutes")]
    [InlineData("Group:Members", "g2", "invalid configuration: Group:Members: unknown key")]
    public async Task A_bad_group_setting_stops_the_gateway_with_one_line_naming_the_key(string key, string value, string expected) =>
        ConfigurationRun.AssertOutcome(await ConfigurationRun.GatewayAsync(Member((key, value))), expected);

    [Fact]
    public async Task A_group_member_needs_the_external_broker_and_PostgreSQL()
    {
        ConfigurationRun.AssertOutcome(
            await ConfigurationRun.GatewayAsync(Member(("Broker:Mode", "Embedded"), ("Broker:Uri", null))),
            "invalid configuration: Group:Member: a gateway group shares one external broker; set Broker:Mode External and Broker:Uri");
        ConfigurationRun.AssertOutcome(
            await ConfigurationRun.GatewayAsync(Member(("State:Provider", null), ("State:ConnectionString", null))),
            "invalid configuration: Group:Member: a gateway group keeps its leases and state in PostgreSQL; set State:Provider PostgreSql and State:ConnectionString");
        ConfigurationRun.AssertOutcome(
            await ConfigurationRun.GatewayAsync(Member(("Group:Member", null))),
            "invalid configuration: Group:Sites: only a group member serves a list of sites; set Group:Member too");
    }
}
