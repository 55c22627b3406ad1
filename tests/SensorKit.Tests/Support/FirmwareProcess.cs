using System.Diagnostics;
using System.Reflection;

namespace SensorKit.Tests.Support;

/// <summary>
/// The real firmware executable (sensorkit-node) as a child process in simulation, started from
/// its own build output (the test project builds it first) and stopped by its PID.
/// </summary>
internal sealed class FirmwareProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private FirmwareProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>What the node logged so far (stdout and stderr).</summary>
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
            string configuration = typeof(FirmwareProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            string path = Path.Combine(RepoPaths.Root, "firmware", "SensorKit.Firmware", "bin", configuration, "net10.0", "sensorkit-node.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"the firmware is not built: {path}");
        }
    }

    public static FirmwareProcess Start(IEnumerable<string> args)
    {
        // The muxer that runs this test host, so the child uses the same runtime.
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
        Process process = Process.Start(psi) ?? throw new InvalidOperationException("the firmware did not start");
        var firmware = new FirmwareProcess(process);
        process.OutputDataReceived += (_, e) => firmware.Add(e.Data);
        process.ErrorDataReceived += (_, e) => firmware.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return firmware;
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
