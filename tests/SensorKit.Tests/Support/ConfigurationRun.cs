using SensorKit.Gateway;
using SensorKit.Node;

namespace SensorKit.Tests.Support;

/// <summary>
/// Runs a host as its executable would, with one configuration, until it has started completely (then it is
/// stopped) or refused to start: the exit code and what it wrote to standard error.
/// </summary>
internal static class ConfigurationRun
{
    private static readonly TimeSpan StartCap = TimeSpan.FromSeconds(30);

    /// <summary>A simulated node "node-1" on a free port with <paramref name="overrides"/> applied.</summary>
    public static async Task<(int Code, string Error)> NodeAsync(params (string Key, string? Value)[] overrides)
    {
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("node-1", FreePort.Get());
        foreach ((string key, string? value) in overrides)
        {
            config[key] = value;
        }

        using var host = Hosts.Node(config);
        var error = new StringWriter();
        using CancellationTokenSource stop = Hosts.StopOnceStarted(host, StartCap);
        int code = await NodeHost.RunAsync(host, error, stop.Token);
        return (code, error.ToString());
    }

    public static async Task<(int Code, string Error)> GatewayAsync(Dictionary<string, string?> config)
    {
        using var host = Hosts.Gateway(config);
        var error = new StringWriter();
        using CancellationTokenSource stop = Hosts.StopOnceStarted(host, StartCap);
        int code = await GatewayHost.RunAsync(host, error, stop.Token);
        return (code, error.ToString());
    }

    /// <summary>
    /// With <paramref name="expected"/> null the configuration was accepted (exit 0, nothing written); else exit
    /// code 2 and exactly one line, starting with <paramref name="expected"/>.
    /// </summary>
    public static void AssertOutcome((int Code, string Error) run, string? expected)
    {
        if (expected is null)
        {
            Assert.Equal((0, string.Empty), run);
            return;
        }

        Assert.Equal(2, run.Code);
        Assert.Single(run.Error.TrimEnd().Split('\n'));
        Assert.StartsWith(expected, run.Error, StringComparison.Ordinal);
    }
}
