using System.Diagnostics;
using System.Reflection;

namespace SensorKit.Tests.Support;

/// <summary>
/// A real SensorKit executable (sensorkit-node, sensorkit-gateway) as a child process, started from its own build
/// output (the test project builds it first) with the runtime of this test host, and stopped by its PID.
/// </summary>
internal sealed class ExecutableProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private ExecutableProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>What the process wrote so far (stdout and stderr).</summary>
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

    public static string FirmwareAssembly => Built("firmware", "SensorKit.Firmware", "sensorkit-node.dll");

    public static string GatewayAssembly => Built("gateway", "SensorKit.Gateway.Worker", "sensorkit-gateway.dll");

    /// <summary>The node firmware, in simulation when the arguments say so.</summary>
    public static ExecutableProcess Firmware(IEnumerable<string> args) => Start(FirmwareAssembly, args);

    public static ExecutableProcess Gateway(IEnumerable<string> args) => Start(GatewayAssembly, args);

    private static string Built(string side, string project, string dll)
    {
        string configuration = typeof(ExecutableProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        string path = Path.Combine(RepoPaths.Root, side, project, "bin", configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{dll} is not built: {path}");
    }

    private static ExecutableProcess Start(string assembly, IEnumerable<string> args)
    {
        // The muxer that runs this test host, so the child uses the same runtime.
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(assembly);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_NOLOGO"] = "1";
        Process process = Process.Start(psi) ?? throw new InvalidOperationException($"{Path.GetFileName(assembly)} did not start");
        var child = new ExecutableProcess(process);
        process.OutputDataReceived += (_, e) => child.Add(e.Data);
        process.ErrorDataReceived += (_, e) => child.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
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
        await SignalAsync("TERM");
        await WaitForExitAsync(timeout);
    }

    /// <summary>SIGSTOP: the process is frozen (a hung machine, a debugger) until <see cref="ResumeAsync"/>.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT after <see cref="PauseAsync"/>.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal)
    {
        using Process kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
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
