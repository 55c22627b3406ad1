using System.Diagnostics;
using Npgsql;

namespace SensorKit.Benchmarks.Group;

/// <summary>PostgreSQL in a temporary data directory on a free loopback port (as nobody when run as root: PostgreSQL refuses root).</summary>
internal sealed class PostgresProcess : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _root;

    private PostgresProcess(string bin, string root, int port)
    {
        _bin = bin;
        _root = root;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=sensorkit";

    public static async Task<PostgresProcess> StartAsync()
    {
        string? bin = new[] { "/usr/local/bin" }.Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")) : [])
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "pg_ctl")))
            ?? throw new InvalidOperationException("PostgreSQL is not installed (apt-get install postgresql)");
        bin = Path.GetDirectoryName(new FileInfo(Path.Combine(bin, "pg_ctl")).ResolveLinkTarget(true)?.FullName ?? Path.Combine(bin, "pg_ctl"))!;
        string root = Directory.CreateTempSubdirectory("sensorkit-bench-postgres-").FullName;
        // nobody must reach the data directory inside it.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
        }

        var pg = new PostgresProcess(bin, root, LoadSupport.FreePort());
        await pg.RunAsync("initdb", "-D", pg.Data, "--auth=trust", "-U", "postgres", "-E", "UTF8");
        await pg.StartServerAsync();
        await using var db = new NpgsqlConnection($"Host=127.0.0.1;Port={pg.Port};Username=postgres;Database=postgres");
        await db.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE DATABASE sensorkit", db);
        await create.ExecuteNonQueryAsync();
        return pg;
    }

    private string Data => Path.Combine(_root, "data");

    public Task StartServerAsync() => RunAsync("pg_ctl", "-D", Data, "-l", Path.Combine(_root, "log"), "-w", "-s", "-o",
        $"-p {Port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={_root} -c max_connections=300", "start");

    public Task StopServerAsync() => RunAsync("pg_ctl", "-D", Data, "-w", "-s", "-m", "fast", "stop");

    private async Task RunAsync(string tool, params string[] args)
    {
        bool root = Environment.UserName == "root";
        var psi = new ProcessStartInfo(root ? "setpriv" : Path.Combine(_bin, tool)) { RedirectStandardError = true, RedirectStandardOutput = true };
        if (root)
        {
            foreach (string a in (string[])["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", Path.Combine(_bin, tool)])
            {
                psi.ArgumentList.Add(a);
            }
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} failed ({p.ExitCode}): {await err}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopServerAsync();
        Directory.Delete(_root, recursive: true);
    }
}
