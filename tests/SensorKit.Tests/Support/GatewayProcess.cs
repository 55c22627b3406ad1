using System.Diagnostics;
using System.Reflection;

namespace SensorKit.Tests.Support;

/// <summary>
/// The real gateway executable (sensorkit-gateway) as a child process, started from its own build output (the test
/// project builds it first) and stopped by its PID, as <see cref="FirmwareProcess"/> does for the node.
/// </summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private GatewayProcess(Process process) => _process = process;

    public int ExitCode => _process.ExitCode;

    public bool HasExited => _process.HasExited;

    /// <summary>What the gateway wrote so far (stdout and stderr).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    public static string Assembly
    {
        get
        {
            string configuration = typeof(GatewayProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            string path = Path.Combine(RepoPaths.Root, "gateway", "SensorKit.Gateway.Worker", "bin", configuration, "net10.0", "sensorkit-gateway.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"the gateway is not built: {path}");
        }
    }

    public static GatewayProcess Start(IEnumerable<string> args)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(Assembly)!,
        };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(Assembly);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_NOLOGO"] = "1";
        Process process = Process.Start(psi) ?? throw new InvalidOperationException("the gateway did not start");
        var gateway = new GatewayProcess(process);
        process.OutputDataReceived += (_, e) => gateway.Add(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return gateway;
    }

    /// <summary>kill -9: no goodbye, no flush; what the kernel already has stays.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as systemd stops a service: the host shuts down cleanly.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        using (Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
