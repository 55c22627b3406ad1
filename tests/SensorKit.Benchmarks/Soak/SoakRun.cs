using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SensorKit.Benchmarks.Soak;

/// <summary>
/// "soak": the node firmware as its own process in simulation, against Mosquitto on loopback, watched from
/// outside for as long as asked (docs/resources.md). CPU time, RSS and storage writes come from /proc; GC, JIT,
/// timer and exception figures from the runtime's own counters over EventPipe; fsyncs from strace when asked.
/// </summary>
internal static class SoakRun
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // Six sensors at 1 Hz as in the field (the SCD4x cannot measure faster than every 5 s).
    private static readonly (string Type, string Address, string Interval)[] Sensors =
    [
        ("bme280", "0x76", "00:00:01"),
        ("sht4x", "0x44", "00:00:01"),
        ("scd4x", "0x62", "00:00:05"),
        ("ads1115", "0x48", "00:00:01"),
        ("vl53l0x", "0x29", "00:00:01"),
        ("bh1750", "0x23", "00:00:01"),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        int minutes = LoadSupport.Option(args, "--minutes", 60);
        int sensors = Math.Clamp(LoadSupport.Option(args, "--sensors", 6), 1, Sensors.Length);
        int every = Math.Max(5, LoadSupport.Option(args, "--every", 60));
        string? exe = LoadSupport.Text(args, "--exe", "") is { Length: > 0 } e ? Path.GetFullPath(e) : null;
        string build = LoadSupport.Text(args, "--build", "aot");
        string? csv = LoadSupport.Text(args, "--csv", "") is { Length: > 0 } c ? Path.GetFullPath(c) : null;
        bool counters = !LoadSupport.Flag(args, "--no-counters");
        if (build is not ("aot" or "jit"))
        {
            Console.Error.WriteLine($"soak: --build {build}: expected aot (the field build, published with the linux-x64 profile) or jit (the Release build)");
            return 2;
        }

        if (exe is null && build == "aot")
        {
            exe = await PublishAotAsync(counters);
            if (exe is null)
            {
                return 1;
            }
        }

        bool traceFsync = LoadSupport.Flag(args, "--trace-fsync");
        int jitNamesAfter = LoadSupport.Option(args, "--jit-names-after", -1);
        int dashes = Array.IndexOf(args, "--");
        string[] nodeExtra = dashes >= 0 ? args[(dashes + 1)..] : [];
        string[] ownArgs = dashes >= 0 ? args[..dashes] : args;
        // The environment the systemd unit gives the node on a Pi, so the soak measures what is deployed.
        List<(string Key, string Value)> environment = LoadSupport.Flag(ownArgs, "--no-unit-env") ? [] : UnitEnvironment();
        environment.AddRange(Values(ownArgs, "--env").Select(Split));

        await using MosquittoProcess broker = await MosquittoProcess.StartAsync();
        string state = Directory.CreateTempSubdirectory("sensorkit-soak-").FullName;
        var nodeArgs = new List<string>
        {
            "--Node:Id", "soak-1", "--Node:Site", "soak", "--Node:Window", "00:01:00", "--Node:StatusInterval", "00:01:00",
            "--Mqtt:Broker", $"mqtt://127.0.0.1:{broker.Port}",
            "--Outbox:Directory", Path.Combine(state, "outbox"),
            "--Simulation:Enabled", "true",
            "--Logging:LogLevel:Default", "Warning",
        };
        for (int i = 0; i < sensors; i++)
        {
            (string type, string address, string interval) = Sensors[i];
            nodeArgs.AddRange([$"--Node:Sensors:{i}:Id", type, $"--Node:Sensors:{i}:Type", type, $"--Node:Sensors:{i}:Bus", "1", $"--Node:Sensors:{i}:Address", address, $"--Node:Sensors:{i}:Interval", interval]);
        }

        nodeArgs.AddRange(nodeExtra);
        string fsyncLog = Path.Combine(state, "fsync.strace");
        using Process launched = Start(exe, nodeArgs, environment, traceFsync ? fsyncLog : null);
        var output = new StringBuilder();
        launched.OutputDataReceived += (_, d) => Append(output, d.Data);
        launched.ErrorDataReceived += (_, d) => Append(output, d.Data);
        launched.BeginOutputReadLine();
        launched.BeginErrorReadLine();

        int pid = traceFsync ? await ChildOfAsync(launched.Id) : launched.Id;
        Console.WriteLine($"soak: node pid {pid}{(exe is null ? " (the Release build: dotnet exec sensorkit-node.dll)" : $" ({exe})")}, {sensors} sensors, broker 127.0.0.1:{broker.Port}, {minutes} min, a row every {every} s");
        foreach ((string k, string v) in environment)
        {
            Console.WriteLine($"soak: {k}={v}");
        }

        if (nodeExtra.Length > 0)
        {
            Console.WriteLine($"soak: node options {string.Join(' ', nodeExtra)}");
        }

        try
        {
            return await WatchAsync(pid, launched, output, minutes, every, counters, jitNamesAfter < 0 ? null : TimeSpan.FromMinutes(jitNamesAfter), traceFsync ? fsyncLog : null, csv, string.Join(' ', ownArgs));
        }
        finally
        {
            // SIGTERM to the node (by its PID) for a clean stop; strace ends with it.
            if (!launched.HasExited)
            {
                Stop(pid);
                if (!launched.WaitForExit(TimeSpan.FromSeconds(20)))
                {
                    launched.Kill(entireProcessTree: true);
                }
            }

            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task<int> WatchAsync(int pid, Process launched, StringBuilder output, int minutes, int every, bool counters, TimeSpan? jitNamesAfter, string? fsyncLog, string? csv, string command)
    {
        using RuntimeCounters? runtime = counters ? await RuntimeCounters.TryStartAsync(pid, jitNamesAfter) : null;
        var rows = new List<SoakRow>();
        var clock = Stopwatch.StartNew();
        TimeSpan duration = TimeSpan.FromMinutes(minutes);
        SoakRow.PrintHeader(Console.Out);
        while (true)
        {
            if (launched.HasExited)
            {
                Console.Error.WriteLine($"soak: the node exited with {launched.ExitCode}:\n{output}");
                return 1;
            }

            SoakRow row = SoakRow.Read(pid, clock.Elapsed, runtime, fsyncLog);
            rows.Add(row);
            row.Print(Console.Out, rows.Count > 1 ? rows[^2] : null);
            if (clock.Elapsed >= duration)
            {
                break;
            }

            TimeSpan next = TimeSpan.FromSeconds(every * rows.Count) - clock.Elapsed;
            await Task.Delay(next > TimeSpan.Zero ? next : TimeSpan.Zero);
        }

        SoakSummary.Print(Console.Out, rows, runtime, command);
        if (csv is not null)
        {
            await File.WriteAllLinesAsync(csv, [SoakRow.CsvHeader, .. rows.Select(r => r.Csv())]);
            Console.WriteLine($"soak: rows written to {csv}");
        }

        return 0;
    }

    private static (string Key, string Value) Split(string assignment)
    {
        int i = assignment.IndexOf('=', StringComparison.Ordinal);
        return (assignment[..i], assignment[(i + 1)..]);
    }

    /// <summary>The Environment= lines of hardware/systemd/sensorkit-node.service.</summary>
    private static List<(string Key, string Value)> UnitEnvironment()
    {
        if (FindAbove(Path.Combine("hardware", "systemd", "sensorkit-node.service")) is { } unit)
        {
            return [.. File.ReadLines(unit).Where(l => l.StartsWith("Environment=", StringComparison.Ordinal)).Select(l => Split(l["Environment=".Length..].Trim()))];
        }

        Console.Error.WriteLine("soak: hardware/systemd/sensorkit-node.service not found; the node runs without the unit's environment");
        return [];
    }

    private static IEnumerable<string> Values(string[] args, string name)
    {
        for (int i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == name)
            {
                yield return args[i + 1];
            }
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    /// <summary>The firmware's Release build (dotnet exec) or a published executable, optionally under strace counting fsyncs only.</summary>
    private static Process Start(string? exe, List<string> nodeArgs, List<(string Key, string Value)> environment, string? fsyncLog)
    {
        var command = new List<string>();
        if (fsyncLog is not null)
        {
            // seccomp-bpf stops only on the traced calls, so the node runs at full speed in between.
            command.AddRange(["strace", "-f", "--seccomp-bpf", "-qq", "-e", "trace=fsync,fdatasync,sync_file_range,msync", "-o", fsyncLog]);
        }

        if (exe is null)
        {
            command.AddRange([Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet", "exec", FirmwareAssembly()]);
        }
        else
        {
            command.Add(exe);
        }

        command.AddRange(nodeArgs);
        var psi = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(exe ?? FirmwareAssembly())!,
        };
        foreach (string a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string k, string v) in environment)
        {
            psi.Environment[k] = v;
        }

        return Process.Start(psi) ?? throw new InvalidOperationException($"{command[0]} did not start");
    }

    /// <summary>
    /// The field build for this machine: the firmware published with its linux-x64 profile (Native AOT) into
    /// artifacts/soak/. The runtime's counters need EventSource support, which the field build leaves out (it maps about
    /// 2 MB more), so with counters the build differs in that alone; --no-counters soaks the field build exactly.
    /// </summary>
    private static async Task<string?> PublishAotAsync(bool counters)
    {
        string root = RepositoryRoot();
        string name = counters ? "linux-x64-event-source" : "linux-x64";
        string output = Path.Combine(root, "artifacts", "soak", name);
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        foreach (string a in (string[])[
            "publish", Path.Combine(root, "firmware", "SensorKit.Firmware", "SensorKit.Firmware.csproj"),
            "-p:PublishProfile=linux-x64", $"-p:EventSourceSupport={(counters ? "true" : "false")}",
            "--artifacts-path", Path.Combine(root, "artifacts", "soak", "build-" + name), "-o", output, "-nologo", "-v", "q",
        ])
        {
            psi.ArgumentList.Add(a);
        }

        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToArray())
        {
            psi.Environment.Remove(key);
        }

        Console.WriteLine($"soak: publishing the node (linux-x64 profile, Native AOT{(counters ? ", with EventSource support for the counters" : "")}) to {output}");
        using Process publish = Process.Start(psi) ?? throw new InvalidOperationException("dotnet publish did not start");
        Task<string> stdout = publish.StandardOutput.ReadToEndAsync();
        Task<string> stderr = publish.StandardError.ReadToEndAsync();
        await publish.WaitForExitAsync();
        if (publish.ExitCode != 0)
        {
            Console.Error.WriteLine($"soak: the Native AOT publish failed (it needs clang or gcc; --build jit soaks the Release build instead):\n{await stdout}{await stderr}");
            return null;
        }

        return Path.Combine(output, "sensorkit-node");
    }

    private static string RepositoryRoot() =>
        Path.GetDirectoryName(FindAbove("SensorKit.sln") ?? throw new DirectoryNotFoundException("SensorKit.sln not found above the benchmark's folder"))!;

    /// <summary>The first <paramref name="relativePath"/> that exists in the benchmark's folder or one above it; null when none does.</summary>
    private static string? FindAbove(string relativePath)
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, relativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The firmware built beside this benchmark, in the same configuration (the project reference builds it).</summary>
    private static string FirmwareAssembly()
    {
        string configuration = typeof(SoakRun).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().FirstOrDefault()?.Configuration ?? "Release";
        return FindAbove(Path.Combine("firmware", "SensorKit.Firmware", "bin", configuration, "net10.0", "sensorkit-node.dll"))
            ?? throw new FileNotFoundException($"sensorkit-node.dll ({configuration}) is not built; run the soak with dotnet run -c {configuration}");
    }

    /// <summary>The node's PID when strace started it: its child once that has become the node (strace forks a short-lived probe first).</summary>
    private static async Task<int> ChildOfAsync(int parent)
    {
        string children = $"/proc/{parent}/task/{parent}/children";
        for (int i = 0; i < 400; i++)
        {
            foreach (string child in (File.Exists(children) ? await File.ReadAllTextAsync(children) : "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                string? exe = new FileInfo($"/proc/{child}/exe").LinkTarget;
                if (exe is not null && !exe.EndsWith("/strace", StringComparison.Ordinal))
                {
                    return int.Parse(child, Inv);
                }
            }

            await Task.Delay(25);
        }

        throw new InvalidOperationException("strace started no node process");
    }

    private static void Stop(int pid)
    {
        using Process kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", pid.ToString(Inv)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }
}
