using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Gateway;
using SensorKit.Hosting;
using SensorKit.Node;
using SensorKit.Node.Configuration;

namespace SensorKit.Tests.Deployment;

/// <summary>What the executables register for running under systemd, and what a node without credentials is told.</summary>
public sealed class ServiceWiringTests
{
    [Fact]
    public void Node_and_gateway_hosts_run_the_systemd_watchdog()
    {
        HostApplicationBuilder node = NodeHost.CreateBuilder([]);
        HostApplicationBuilder gateway = GatewayHost.CreateBuilder([]);

        Assert.Contains(node.Services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(SystemdWatchdog));
        Assert.Contains(gateway.Services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(SystemdWatchdog));
    }

    [Fact]
    public void A_node_without_credentials_for_a_remote_broker_is_told_how_to_set_them()
    {
        ValidateOptionsResult r = new MqttOptionsValidator().Validate(null, new MqttOptions { Broker = "mqtt://10.0.0.2:1883" });

        Assert.True(r.Failed);
        string message = Assert.Single(r.Failures!);
        Assert.StartsWith("Mqtt:Username: the broker mqtt://10.0.0.2:1883 is not on this machine", message, StringComparison.Ordinal);
        Assert.Contains("install.sh --mqtt-username NAME --mqtt-password-file FILE", message, StringComparison.Ordinal);
        Assert.Contains("LoadCredential", message, StringComparison.Ordinal);
        Assert.Contains("0600", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_file_that_is_not_there_is_reported_at_start_by_key()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-such-password-{Guid.NewGuid():N}");

        ValidateOptionsResult r = new MqttOptionsValidator().Validate(null, new MqttOptions { Broker = "mqtt://10.0.0.2:1883", Username = "river-3", PasswordFile = missing });

        Assert.Equal($"Mqtt:PasswordFile: '{missing}' does not exist or this user cannot see it", Assert.Single(r.Failures!));
    }

    [Fact]
    public void A_readable_password_file_with_a_username_is_accepted()
    {
        string file = Path.GetTempFileName();
        try
        {
            ValidateOptionsResult r = new MqttOptionsValidator().Validate(null, new MqttOptions { Broker = "mqtt://10.0.0.2:1883", Username = "river-3", PasswordFile = file });

            Assert.True(r.Succeeded, r.FailureMessage);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
