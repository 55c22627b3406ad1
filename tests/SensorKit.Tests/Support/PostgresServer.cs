using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using SensorKit.Tests.Support;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace SensorKit.Tests.Support;

/// <summary>
/// A real PostgreSQL (Debian's postgresql, installed by .ci/run) in a temporary data directory, on a free loopback
/// port, stopped through its own data directory. PostgreSQL refuses to run as root, so when the tests run as root
/// initdb and pg_ctl run as nobody. As the assembly fixture, one server serves every test that asks for it and starts
/// when the first one does (a run without such tests starts none); each test takes a database of its own. A test
/// that stops PostgreSQL starts a server of its own (<see cref="StartNewAsync"/>) so it stops nobody else's.
/// Without PostgreSQL the test is skipped.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private const string Install = "apt-get install postgresql";
    private const string Superuser = "postgres";
    private static readonly TimeSpan StartCap = TimeSpan.FromSeconds(60);

    private readonly SemaphoreSlim _starting = new(1, 1);
    private string? _root;
    private string? _bin;
    private bool _running;

    /// <summary>The loopback port the server listens on; the same after a restart.</summary>
    public int Port { get; private set; }

    private string DataDirectory => Path.Combine(_root!, "data");

    private string LogFile => Path.Combine(_root!, "postgres.log");

    /// <summary>A server of the caller's own, started now; the caller disposes it.</summary>
    public static async Task<PostgresServer> StartNewAsync()
    {
        var server = new PostgresServer();
        await server.EnsureStartedAsync();
        return server;
    }

    ValueTask IAsyncLifetime.InitializeAsync() => ValueTask.CompletedTask;

    /// <summary>Creates the data directory and starts the server the first time; skips the test without PostgreSQL.</summary>
    public async Task EnsureStartedAsync()
    {
        string pgCtl = Locate("pg_ctl");
        await _starting.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (_root is not null)
            {
                return;
            }

            // Through a link on PATH to the folder with initdb and postgres beside it.
            _bin = Path.GetDirectoryName(new FileInfo(pgCtl).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? pgCtl)!;
            string root = Directory.CreateTempSubdirectory("sensorkit-postgres-").FullName;
            Port = FreePort.Get();
            await InitializeDataDirectoryAsync(root);
            _root = root;
            await StartAsync();
        }
        finally
        {
            _starting.Release();
        }
    }

    /// <summary>A fresh, empty database; its connection string (trust authentication, no password).</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        await EnsureStartedAsync();
        return CreateDatabase();
    }

    /// <summary>A fresh, empty database on a server already started (<see cref="EnsureStartedAsync"/>).</summary>
    public string CreateDatabase()
    {
        if (!_running)
        {
            throw new InvalidOperationException("PostgreSQL is not running: call EnsureStartedAsync first");
        }

        string name = $"t_{Guid.NewGuid():N}";
        // Unpooled: a pooled connection would not outlive a restart of the server.
        using (var admin = new NpgsqlConnection(ConnectionString(Superuser) + ";Pooling=false"))
        {
            admin.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            create.ExecuteNonQuery();
        }

        return ConnectionString(name);
    }

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Database = database,
    }.ConnectionString;

    /// <summary>Starts the server on its data directory and port and waits until it takes connections.</summary>
    public async Task StartAsync()
    {
        await RunAsync(Path.Combine(_bin!, "pg_ctl"), ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-s", "start"]);
        _running = true;
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    await using var probe = new NpgsqlConnection(ConnectionString(Superuser) + ";Pooling=false");
                    await probe.OpenAsync(TestContext.Current.CancellationToken);
                    return true;
                }
                catch (NpgsqlException)
                {
                    return false;
                }
            },
            StartCap,
            "PostgreSQL taking connections",
            () => LogTail());
    }

    /// <summary>A fast shutdown (open transactions roll back, clients are disconnected), as an operator's restart does.</summary>
    public async Task StopAsync()
    {
        if (!_running)
        {
            return;
        }

        _running = false;
        await RunAsync(Path.Combine(_bin!, "pg_ctl"), ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "-s", "stop"]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_root is null)
        {
            return;
        }

        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException e)
        {
            // pg_ctl failed to stop it: end the postmaster by the PID its data directory names.
            Console.Error.WriteLine($"pg_ctl stop failed ({e.Message}); killing the postmaster");
            KillPostmaster();
        }

        Hosts.DeleteQuietly(_root);
        _root = null;
        _starting.Dispose();
    }

    private void KillPostmaster()
    {
        string pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).First(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            using Process postmaster = Process.GetProcessById(pid);
            postmaster.Kill();
            postmaster.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }

    private async Task InitializeDataDirectoryAsync(string root)
    {
        if (Environment.IsPrivilegedProcess)
        {
            // The server's user must reach the folder: every parent needs search permission for others.
            for (DirectoryInfo? d = new DirectoryInfo(root).Parent; d is not null; d = d.Parent)
            {
                if (!d.UnixFileMode.HasFlag(UnixFileMode.OtherExecute))
                {
                    throw new InvalidOperationException($"{d.FullName} is not searchable by others, so PostgreSQL cannot run as nobody below it; set TMPDIR to a folder that is");
                }
            }

            await RunAsync("chown", ["nobody:nogroup", root], asServer: false);
        }

        await RunAsync(Path.Combine(_bin!, "initdb"), ["-D", Path.Combine(root, "data"), "--auth=trust", "-U", Superuser, "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"]);
        string socketDirectory = Path.Combine(root, "data");
        await File.AppendAllTextAsync(Path.Combine(root, "data", "postgresql.conf"), $"""

            listen_addresses = '127.0.0.1'
            port = {Port}
            unix_socket_directories = '{socketDirectory}'
            max_connections = 200
            shared_buffers = 32MB
            """);
    }

    /// <summary>Runs a program to its end, as the server's user unless <paramref name="asServer"/> is false; fails with its output.</summary>
    private async Task RunAsync(string program, string[] args, bool asServer = true)
    {
        var psi = new ProcessStartInfo
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (asServer && Environment.IsPrivilegedProcess)
        {
            psi.FileName = Requires.Program("setpriv", "apt-get install util-linux", "PostgreSQL refuses to run as root");
            foreach (string a in (string[])["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", program])
            {
                psi.ArgumentList.Add(a);
            }
        }
        else
        {
            psi.FileName = program;
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var output = new StringBuilder();
        using Process process = Process.Start(psi) ?? throw new InvalidOperationException($"{program} did not start");
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cap = new CancellationTokenSource(StartCap);
        await process.WaitForExitAsync(cap.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', args)} exited with {process.ExitCode}: {Read(output)}\n{LogTail()}");
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private string LogTail() => _root is not null && File.Exists(LogFile)
        ? "server log: " + string.Join('\n', File.ReadLines(LogFile).TakeLast(20))
        : "no server log";

    /// <summary>A PostgreSQL program on PATH or in Debian's versioned folder (the newest version first).</summary>
    private static string Locate(string program)
    {
        string[] versioned = Directory.Exists("/usr/lib/postgresql")
            ? [.. Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out int v) ? v : 0).Select(d => Path.Combine(d, "bin"))]
            : [];
        return Requires.Program(program, versioned, "PostgreSQL", Install);
    }
}
