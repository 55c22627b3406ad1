using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>A port another program already holds is a configuration error: exit code 2 and one line naming the key.</summary>
public sealed class TakenPortTests
{
    [Theory]
    [InlineData("Broker:Port")]
    [InlineData("CapFeed:Port")]
    public async Task A_taken_port_stops_the_gateway_naming_the_key(string key)
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int taken = ((IPEndPoint)holder.LocalEndpoint).Port;
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config[key] = taken.ToString(CultureInfo.InvariantCulture);

        (int code, string error) = await ConfigurationRun.GatewayAsync(config);

        ConfigurationRun.AssertOutcome((code, error), $"invalid configuration: {key}: cannot listen on 127.0.0.1:{taken}");
    }
}
