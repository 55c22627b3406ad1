using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Hosting;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;

namespace SensorKit.Node.Scanning;

/// <summary>
/// <c>sensorkit-node scan [--bus N] [configuration overrides]</c>: lists what answers on the I2C bus and
/// compares it with the configured sensors. Run it with the service stopped: a scan and a running
/// node would take turns on the same chips.
/// </summary>
public static class ScanCommand
{
    public const string Verb = "scan";

    public const int ExitOk = 0;
    public const int ExitSensorProblem = 1;
    public const int ExitInvalid = HostRunner.ExitInvalidConfiguration;
    public const int ExitBusUnavailable = 3;

    public static bool IsScan(string[] args) => args.Length > 0 && args[0] == Verb;

    /// <summary>Builds the node's host from <paramref name="args"/> (as the service would, without starting it) and scans.</summary>
    /// <param name="configure">Adds what the executable adds to the node, e.g. the simulation.</param>
    public static async Task<int> RunAsync(string[] args, Action<HostApplicationBuilder> configure, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        if (!TryParse(args, out int? bus, out string[] configurationArgs, out string? usage))
        {
            await error.WriteLineAsync(usage);
            return ExitInvalid;
        }

        HostApplicationBuilder builder = NodeHost.CreateBuilder(configurationArgs);
        configure(builder);
        using IHost host = builder.Build();
        return await RunAsync(host.Services, bus, output, error, ct);
    }

    public static async Task<int> RunAsync(IServiceProvider services, int? bus, TextWriter output, TextWriter error, CancellationToken ct = default)
    {
        NodeOptions node;
        II2cBusProvider buses;
        bool simulated;
        try
        {
            // Not all needed for a scan, but the installer relies on a scan to reject any configuration the service would.
            services.GetService<IStartupValidator>()?.Validate();
            node = services.GetRequiredService<IOptions<NodeOptions>>().Value;
            _ = services.GetRequiredService<IOptions<MqttOptions>>().Value;
            simulated = services.GetRequiredService<IOptions<SimulationOptions>>().Value.Enabled;
            buses = services.GetRequiredService<II2cBusProvider>();
        }
        catch (Exception e) when (HostRunner.Describe(e, services) is { } problem)
        {
            return await HostRunner.ReportAsync(problem, error);
        }

        int[] busNumbers = bus is { } only ? [only] : [.. node.Sensors.Select(s => s.Bus).DefaultIfEmpty(1).Distinct()];
        if (!simulated)
        {
            foreach (int b in busNumbers)
            {
                if (!File.Exists($"/dev/i2c-{b}"))
                {
                    await error.WriteLineAsync(b == 1
                        ? "I2C bus 1 is not enabled: /dev/i2c-1 does not exist. Run 'sudo raspi-config nonint do_i2c 0' (or add dtparam=i2c_arm=on to /boot/firmware/config.txt) and reboot."
                        : $"I2C bus {b} does not exist: /dev/i2c-{b} is missing. Check Node:Sensors:*:Bus and the dtoverlay that provides it.");
                    return ExitBusUnavailable;
                }
            }
        }

        ScanReport report;
        try
        {
            report = await new BusScanner(buses, services.GetService<TimeProvider>() ?? TimeProvider.System).ScanAsync(busNumbers, node.Sensors, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Opening /dev/i2c-N failed as a whole (permissions), not one address.
            await error.WriteLineAsync($"cannot use the I2C bus: {e.Message} (run as root, or as a user in group 'i2c')");
            return ExitBusUnavailable;
        }

        await WriteAsync(report, simulated, output);
        return report.ConfiguredSensorsAnswer ? ExitOk : ExitSensorProblem;
    }

    /// <summary>Splits "scan [--bus N]" from the configuration arguments that follow or surround it.</summary>
    public static bool TryParse(string[] args, out int? bus, out string[] configurationArgs, out string? usage)
    {
        bus = null;
        usage = null;
        var rest = new List<string>();
        for (int i = IsScan(args) ? 1 : 0; i < args.Length; i++)
        {
            if (args[i] is "--bus" or "-b")
            {
                if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                {
                    configurationArgs = [];
                    usage = "usage: sensorkit-node scan [--bus N] [--Key value ...]  (--bus needs a bus number, e.g. --bus 1)";
                    return false;
                }

                bus = n;
                i++;
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        configurationArgs = [.. rest];
        return true;
    }

    private static async Task WriteAsync(ScanReport report, bool simulated, TextWriter o)
    {
        foreach (BusScan scan in report.Buses)
        {
            string what = simulated ? " (simulated: the emulated chips of the configuration)" : string.Empty;
            await o.WriteLineAsync($"I2C bus {scan.Bus}{what}: {scan.Devices.Count} device(s) answer");
            foreach (FoundDevice d in scan.Devices)
            {
                ConfiguredSensorCheck? claimed = report.Sensors.FirstOrDefault(s => s.Bus == scan.Bus && s.Address == d.Address);
                string role = claimed is null ? "not configured" : $"sensor '{claimed.Id}'";
                await o.WriteLineAsync($"  0x{d.Address:x2}  {d.Description}  [{role}]");
            }
        }

        if (report.Sensors.Count > 0)
        {
            await o.WriteLineAsync("Configured sensors:");
            foreach (ConfiguredSensorCheck s in report.Sensors)
            {
                string state = s.State switch
                {
                    ConfiguredSensorState.Ok => "ok",
                    ConfiguredSensorState.Unverified => "check",
                    ConfiguredSensorState.Missing => "MISSING",
                    ConfiguredSensorState.WrongAddress => "WRONG ADDRESS",
                    _ => "WRONG CHIP",
                };
                await o.WriteLineAsync($"  {state,-13} {s.Id} ({s.Type}, bus {s.Bus}, 0x{s.Address:x2}): {s.Message}");
            }
        }

        int problems = report.Sensors.Count(s => s.IsProblem);
        await o.WriteLineAsync(problems == 0
            ? "All configured sensors answer."
            : $"{problems} configured sensor(s) do not answer as configured.");
    }
}
