using System.Diagnostics;
using System.Net.Sockets;

namespace SensorKit.Tests.Support;

/// <summary>
/// A real Mosquitto (Debian package, installed by .ci/run) started by the test on a free loopback
/// port with its own configuration, and stopped by its PID. Without it, the test is skipped.
/// </summary>
internal sealed class MosquittoBroker : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private MosquittoBroker(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <param name="port">A port to reuse (a restart after an outage); a free one when null.</param>
    /// <param name="persistenceDirectory">When set, Mosquitto keeps sessions, subscriptions and queued messages there across a clean stop.</param>
    /// <param name="allowAnonymous">False: every client needs an account (extraConfig names the password_file).</param>
    public static async Task<MosquittoBroker> StartAsync(string extraConfig = "", int? port = null, string? persistenceDirectory = null, bool allowAnonymous = true)
    {
        string exe = Requires.Program("mosquitto", "apt-get install mosquitto");
        int listenOn = port ?? FreePort.Get();
        string dir = Directory.CreateTempSubdirectory("sensorkit-mosquitto-").FullName;
        string conf = Path.Combine(dir, "mosquitto.conf");
        string persistence = persistenceDirectory is null
            ? "persistence false"
            : $"persistence true\npersistence_location {persistenceDirectory}/\nautosave_interval 0";
        await File.WriteAllTextAsync(conf, $"""
            listener {listenOn} 127.0.0.1
            allow_anonymous {(allowAnonymous ? "true" : "false")}
            {persistence}
            set_tcp_nodelay true
            log_dest stderr
            {extraConfig}
            """);
        var psi = new ProcessStartInfo(exe, ["-c", conf])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        Process process = Process.Start(psi) ?? throw new InvalidOperationException("mosquitto did not start");
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var broker = new MosquittoBroker(process, dir, listenOn);
        await broker.WaitListeningAsync(TimeSpan.FromSeconds(10));
        return broker;
    }

    private async Task WaitListeningAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"mosquitto exited with code {_process.ExitCode}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                // Not listening yet: poll the port, not the clock.
                await Task.Delay(50);
            }
        }
    }

    /// <summary>A clean stop by PID (SIGTERM): Mosquitto saves its persistence file and exits.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        await SignalAsync("TERM");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(timeout.Token);
    }

    /// <summary>
    /// SIGSTOP by PID: the broker is frozen (a hung machine). The kernel still takes what clients send, so a node's
    /// publish goes out and waits for an acknowledgement that does not come.
    /// </summary>
    public Task FreezeAsync() => SignalAsync("STOP");

    /// <summary>kill -9 by PID: the broker dies on the spot, with no goodbye to its clients and nothing saved.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    private async Task SignalAsync(string signal)
    {
        using Process kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
