using SensorKit.Node;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>The publishing settings (Mqtt, Outbox, HomeAssistant): a bad value stops the node at start with exit code 2 and a line naming the key.</summary>
public sealed class PublishingConfigurationTests
{
    [Theory]
    [InlineData("Outbox:MaxBytes", "10000", "Outbox:MaxBytes: 10000 must be at least 4 x Outbox:SegmentBytes")]
    [InlineData("Outbox:ReplayRate", "0", "Outbox:ReplayRate: 0 must be a positive number of records per second")]
    [InlineData("Outbox:MaxAge", "-01:00:00", "Outbox:MaxAge: -01:00:00 must be positive")]
    [InlineData("Mqtt:PasswordEnvironmentVariable", "SENSORKIT_TEST_UNSET_PASSWORD", "Mqtt:Username: required when a password is configured")]
    [InlineData("Mqtt:CaFile", "ca.pem", "Mqtt:CaFile: only used with an mqtts:// broker")]
    [InlineData("Mqtt:TelemetryExpiry", "-00:00:01", "Mqtt:TelemetryExpiry: -00:00:01 must be zero (never) or a positive time")]
    [InlineData("HomeAssistant:DiscoveryPrefix", "home assistant", "HomeAssistant:DiscoveryPrefix: 'home assistant' must be topic levels")]
    public async Task Invalid_publishing_settings_exit_with_one_line_naming_the_key(string key, string value, string expected)
    {
        (int code, string error) = await ConfigurationRun.NodeAsync((key, value), ("HomeAssistant:Enabled", "true"));

        Assert.Equal(2, code);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tls_pin_that_is_not_a_sha256_fingerprint_is_refused()
    {
        (int code, string error) = await ConfigurationRun.NodeAsync(("Mqtt:Broker", "mqtts://127.0.0.1:8883"), ("Mqtt:CertificateFingerprint", "AB:CD"));

        Assert.Equal(2, code);
        Assert.Contains("Mqtt:CertificateFingerprint: 'AB:CD' is not a SHA-256 fingerprint", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_variable_that_is_not_set_is_named()
    {
        (int code, string error) = await ConfigurationRun.NodeAsync(("Mqtt:Username", "river-3"), ("Mqtt:PasswordEnvironmentVariable", "SENSORKIT_TEST_UNSET_PASSWORD"));

        Assert.Equal(2, code);
        Assert.Contains("Mqtt:PasswordEnvironmentVariable: the environment variable 'SENSORKIT_TEST_UNSET_PASSWORD' is not set", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_outbox_folder_that_cannot_be_written_stops_the_node_naming_the_path_and_the_reason()
    {
        string file = Path.Combine(TestDirectories.Create("not-writable"), "a-file");
        await File.WriteAllTextAsync(file, "x", TestContext.Current.CancellationToken);
        string outbox = Path.Combine(file, "outbox");

        (int code, string error) = await ConfigurationRun.NodeAsync(("Outbox:Directory", outbox));

        Assert.Equal(2, code);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains($"invalid configuration: Outbox:Directory: cannot use '{outbox}':", error, StringComparison.Ordinal);
    }
}
