using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Deployment;

/// <summary>
/// The field build, proven on its own architecture: publishes the firmware with the linux-arm64 profile (Native AOT,
/// cross-compiled, so this also proves that trimming kept what the node needs: configuration binding, the drivers,
/// UnitsNet, the emulators),
/// runs the arm64 executable under qemu-aarch64-static in simulation mode against the gateway's embedded
/// broker on loopback, and checks that its telemetry arrives and that it stops cleanly on SIGTERM.
/// Runs alone, after the parallel tests: the publish keeps both cores busy for half a minute.
/// </summary>
[Collection(Arm64EmulationCollection.Name)]
public sealed class Arm64EmulationTests
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(8);
    private static readonly TimeSpan FirstTelemetryTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Published_arm64_firmware_runs_under_emulation_and_its_telemetry_arrives()
    {
        const string NotRun = "the linux-arm64 build was NOT run";
        string qemu = Requires.Program(["qemu-aarch64-static", "qemu-aarch64"], "apt-get install qemu-user-static", NotRun);
        Requires.File(
            "/lib/ld-linux-aarch64.so.1",
            "the arm64 C library",
            "dpkg --add-architecture arm64, then apt-get install libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 libicu72:arm64 libssl3:arm64 zlib1g:arm64",
            NotRun);

        Requires.Program("clang", "apt-get install clang", NotRun);
        Requires.Program("aarch64-linux-gnu-ld", "apt-get install binutils-aarch64-linux-gnu", NotRun);
        Requires.File(
            "/usr/aarch64-linux-gnu/lib/crt1.o",
            "the arm64 C library to link against",
            "apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
            NotRun);

        ITestOutputHelper? log = TestContext.Current.TestOutputHelper;
        CancellationToken ct = TestContext.Current.CancellationToken;
        string work = Path.Combine(RepoPaths.Root, "artifacts", "test-arm64");
        string publishDir = Path.Combine(work, "publish");

        // A publish adds to its output folder; an earlier build's files would count in the size and could hide a missing one.
        if (Directory.Exists(publishDir))
        {
            Directory.Delete(publishDir, recursive: true);
        }

        var publishClock = Stopwatch.StartNew();
        (int publishExit, string publishOutput) = await PublishAsync(publishDir, Path.Combine(work, "build"), ct);
        Assert.True(publishExit == 0, $"dotnet publish -p:PublishProfile=linux-arm64 failed:\n{publishOutput}");
        log?.WriteLine($"publish: {publishClock.Elapsed.TotalSeconds:F1} s");

        string exe = Path.Combine(publishDir, "sensorkit-node");
        Assert.Equal(ElfMachineAarch64, ReadElfMachine(exe));
        long bytes = Directory.EnumerateFiles(publishDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        log?.WriteLine($"self-contained linux-arm64 bundle: {bytes / 1_000_000.0:F1} MB");
        Assert.True(File.Exists(Path.Combine(publishDir, "deploy", "install.sh")), "the bundle carries deploy/install.sh");
        Assert.True(File.Exists(Path.Combine(publishDir, "deploy", "sensorkit-node.service")), "the bundle carries the systemd unit");

        int port = FreePort.Get();
        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(ct);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);
        TestAccount account = TestAccounts.Node(port, "test", "arm64-node");

        var psi = new ProcessStartInfo(qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[
            exe,
            "--Node:Id", "arm64-node",
            "--Node:Site", "test",
            "--Node:Window", "00:00:01",
            "--Node:StatusInterval", "00:00:05",
            "--Node:Sensors:0:Type", "bme280",
            "--Node:Sensors:0:Address", "0x76",
            "--Node:Sensors:0:Interval", "00:00:00.200",
            "--Mqtt:Broker", $"mqtt://127.0.0.1:{port}",
            "--Mqtt:Username", account.Name,
            "--Mqtt:PasswordFile", account.PasswordFile,
            "--Simulation:Enabled", "true",
            "--Simulation:Scenario", "heat-wave",
            "--Simulation:Speed", "60",
        ])
        {
            psi.ArgumentList.Add(arg);
        }

        var startClock = Stopwatch.StartNew();
        using var node = Process.Start(psi)!;
        var nodeOutput = new System.Text.StringBuilder();
        node.OutputDataReceived += (_, e) => Append(nodeOutput, e.Data);
        node.ErrorDataReceived += (_, e) => Append(nodeOutput, e.Data);
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        try
        {
            MqttProbe.Received telemetry = await probe.WaitForAsync(
                m => m.Topic == Topics.Telemetry("test", "arm64-node", "bme280", "temperature"),
                FirstTelemetryTimeout,
                $"temperature telemetry from the arm64 process (its output: {Snapshot(nodeOutput)})");
            log?.WriteLine($"start to first published aggregate under qemu: {startClock.Elapsed.TotalSeconds:F1} s");

            Assert.True(ProtocolJson.TryReadTelemetry(telemetry.Payload, out TelemetryMessage message, out string error), error);
            Assert.Equal("arm64-node", message.Node);
            Assert.Equal(Units.Celsius, message.Unit);
            Assert.InRange(message.Count, 1, 10);
            Assert.InRange(message.Mean, -40, 85);

            MqttProbe.Received status = await probe.WaitForAsync(m => m.Topic == Topics.Status("test", "arm64-node"), TimeSpan.FromSeconds(10), "status");
            Assert.True(ProtocolJson.TryReadStatus(status.Payload, out NodeStatusMessage? s, out string statusError), statusError);
            Assert.Equal(NodeState.Online, s.State);

            // systemd stops a service with SIGTERM: the node says goodbye and exits 0.
            using (var kill = Process.Start("kill", ["-TERM", node.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(ct);
            }

            await probe.WaitForAsync(m => m.Topic == Topics.Status("test", "arm64-node") && m.Text.Contains("\"offline\"", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "offline status after SIGTERM");
            using var exitWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            exitWait.CancelAfter(TimeSpan.FromSeconds(30));
            await node.WaitForExitAsync(exitWait.Token);
            Assert.True(node.ExitCode == 0, Snapshot(nodeOutput));
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill();
                await node.WaitForExitAsync(CancellationToken.None);
            }

            await gateway.StopAsync(CancellationToken.None);
        }
    }

    private const ushort ElfMachineAarch64 = 0xB7;

    /// <summary>e_machine of an ELF file (offset 18, little-endian): 0xB7 is AArch64, 0x3E is x86-64.</summary>
    private static ushort ReadElfMachine(string path)
    {
        Span<byte> header = stackalloc byte[20];
        using FileStream f = File.OpenRead(path);
        f.ReadExactly(header);
        Assert.True(header[..4].SequenceEqual("\u007fELF"u8), $"{path} is not an ELF executable");
        return (ushort)(header[18] | (header[19] << 8));
    }

    private static async Task<(int Exit, string Output)> PublishAsync(string publishDir, string artifacts, CancellationToken ct)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (string arg in (string[])[
            "publish", Path.Combine(RepoPaths.Root, "firmware", "SensorKit.Firmware", "SensorKit.Firmware.csproj"),
            "-p:PublishProfile=linux-arm64",
            // Its own build tree, so it never touches the obj/ and bin/ of the test run that started it.
            "--artifacts-path", artifacts,
            "-o", publishDir,
            "--disable-build-servers",
            "-nodeReuse:false",
        ])
        {
            psi.ArgumentList.Add(arg);
        }

        // The test host inherits MSBuild's variables from "dotnet test"; a nested build must find its own SDK.
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToArray())
        {
            psi.Environment.Remove(key);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(ct);
        Task<string> stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(PublishTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet publish for linux-arm64 took longer than {PublishTimeout.TotalMinutes} min");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static void Append(System.Text.StringBuilder output, string? line)
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

    private static string Snapshot(System.Text.StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Arm64EmulationCollection
{
    public const string Name = "arm64 emulation";
}
