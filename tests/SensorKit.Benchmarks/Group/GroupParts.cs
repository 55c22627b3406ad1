using System.Diagnostics;
using System.Globalization;
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

/// <summary>One gateway process of the group (the Release build beside this benchmark), stopped by its PID.</summary>
internal sealed class GatewayMember : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private GatewayMember(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

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

    public static GatewayMember Start(string name, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Assembly());
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process p = Process.Start(psi)!;
        var member = new GatewayMember(name, p);
        p.OutputDataReceived += (_, e) => member.Add(e.Data);
        p.ErrorDataReceived += (_, e) => member.Add(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return member;
    }

    /// <summary>The arguments of a group member on <paramref name="brokerPort"/> and <paramref name="connectionString"/>, serving <paramref name="sites"/>.</summary>
    public static List<string> Arguments(string name, int brokerPort, string connectionString, IReadOnlyList<string> sites, string state, TimeSpan lease, TimeSpan renew, bool history)
    {
        var args = new List<string>
        {
            "--Broker:Mode", "External",
            "--Broker:Uri", $"mqtt://127.0.0.1:{brokerPort}",
            "--State:Provider", "PostgreSql",
            "--State:ConnectionString", connectionString,
            "--State:Directory", Path.Combine(state, name),
            "--History:Enabled", history ? "true" : "false",
            "--Group:Member", name,
            "--Group:LeaseTime", lease.ToString("c", CultureInfo.InvariantCulture),
            "--Group:RenewInterval", renew.ToString("c", CultureInfo.InvariantCulture),
            "--CapFeed:Enabled", "false",
            "--Cap:Web", "https://warnings.example/alerts/{alertId}",
            "--Rules:Threshold:0:Id", "flood",
            "--Rules:Threshold:0:Quantity", "temperature",
            "--Rules:Threshold:0:Above", "30",
            // One window decides, so each step of the tests is one message.
            "--Rules:Threshold:0:MinWindows", "1",
            // One alert per node, so every crossing of the load is one step to time.
            "--Rules:Threshold:0:Scope", "Node",
            "--Rules:Threshold:0:ScopeReason", "load measurement: one alert per node",
            "--Rules:Threshold:0:Stages:0:Above", "40",
            "--Rules:Threshold:0:Stages:0:Severity", "Severe",
            "--Logging:LogLevel:Default", "Warning",
            "--Logging:LogLevel:SensorKit.Gateway.GatewayGroup", "Information",
            "--Logging:LogLevel:SensorKit.Gateway.Connection.SiteSessions", "Information",
        };
        for (int i = 0; i < sites.Count; i++)
        {
            args.AddRange([$"--Group:Sites:{i}", sites[i]]);
        }

        return args;
    }

    /// <summary>True once this member logged that its session for the site subscribed after its latest take of it.</summary>
    public bool Serves(string site)
    {
        string output = Output;
        int took = output.LastIndexOf($"Group: took site {site} ", StringComparison.Ordinal);
        int letGo = output.LastIndexOf($"Group: let go of site {site} ", StringComparison.Ordinal);
        return took > letGo && output.IndexOf($"Site {site}: session on", took, StringComparison.Ordinal) > took;
    }

    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    private static string Assembly()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "gateway", "SensorKit.Gateway.Worker", "bin", "Release", "net10.0", "sensorkit-gateway.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("sensorkit-gateway.dll (Release) is not built; run with dotnet run -c Release");
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
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
