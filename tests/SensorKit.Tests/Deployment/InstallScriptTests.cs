using System.Diagnostics;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Deployment;

/// <summary>
/// hardware/install.sh in its dry-run mode (--root): a fake root, a stub bundle whose sensorkit-node
/// answers "scan" with a chosen exit code, and a stub dpkg that reports the architecture. System
/// commands (useradd, systemctl) are printed, not run, so the plan is asserted from the output.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class InstallScriptTests : IDisposable
{
    private static readonly string Script = Path.Combine(RepoPaths.Root, "hardware", "install.sh");
    private static readonly string NodeUnit = Path.Combine(RepoPaths.Root, "hardware", "systemd", "sensorkit-node.service");

    private readonly string _dir = Directory.CreateTempSubdirectory("sensorkit-install-").FullName;
    private readonly string _root;
    private readonly string _fakeBin;

    public InstallScriptTests()
    {
        _root = Directory.CreateDirectory(Path.Combine(_dir, "root")).FullName;
        _fakeBin = Directory.CreateDirectory(Path.Combine(_dir, "fakebin")).FullName;
        Directory.CreateDirectory(Path.Combine(_root, "dev"));
        File.WriteAllText(Path.Combine(_root, "dev", "i2c-1"), string.Empty);
        SetArchitecture("arm64");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Script_parses_and_passes_shellcheck()
    {
        (int exit, string output) = await RunAsync("bash", ["-n", Script]);
        Assert.True(exit == 0, output);

        string shellcheck = Requires.Program("shellcheck", "apt-get install shellcheck", "only the bash syntax check ran");

        (exit, output) = await RunAsync(shellcheck, [Script]);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task First_install_puts_release_configuration_and_unit_in_place()
    {
        string bundle = MakeBundle("v1");
        string config = WriteConfig("node.json", """{"Node":{"Id":"river-3"}}""");

        (int exit, string output) = await InstallAsync(bundle, "--config", config);

        Assert.True(exit == 0, output);
        string current = Path.Combine(_root, "opt/sensorkit/node/current");
        Assert.Equal("v1", File.ReadAllText(Path.Combine(current, "version.txt")));
        Assert.Equal("/etc/sensorkit/node.json", new FileInfo(Path.Combine(current, "appsettings.json")).LinkTarget);
        Assert.True(File.Exists(Path.Combine(current, "appsettings.defaults.json")));
        Assert.Equal(File.ReadAllText(config), File.ReadAllText(Path.Combine(_root, "etc/sensorkit/node.json")));
        Assert.Equal(File.ReadAllText(NodeUnit), File.ReadAllText(Path.Combine(_root, "etc/systemd/system/sensorkit-node.service")));
        Assert.Equal("/opt/sensorkit/node/current/sensorkit-node", new FileInfo(Path.Combine(_root, "usr/local/bin/sensorkit-node")).LinkTarget);
        Assert.Contains("scan stub: ok", output, StringComparison.Ordinal);
        Assert.Contains("dry run: useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sensorkit", output, StringComparison.Ordinal);
        Assert.Contains("dry run: usermod --append --groups i2c sensorkit", output, StringComparison.Ordinal);
        Assert.Contains("dry run: systemctl enable sensorkit-node.service", output, StringComparison.Ordinal);
        Assert.Contains("dry run: systemctl restart sensorkit-node.service", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Running_it_twice_changes_nothing_the_second_time()
    {
        string bundle = MakeBundle("v1");
        string config = WriteConfig("node.json", """{"Node":{"Id":"river-3"}}""");
        (int first, string firstOutput) = await InstallAsync(bundle, "--config", config);
        Assert.True(first == 0, firstOutput);
        string[] before = Snapshot();

        (int second, string output) = await InstallAsync(bundle, "--config", config);

        Assert.True(second == 0, output);
        Assert.Equal(before, Snapshot());
        Assert.DoesNotContain("previous configuration kept", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upgrade_keeps_configuration_state_and_the_previous_release()
    {
        string config = WriteConfig("node.json", """{"Node":{"Id":"river-3"}}""");
        (int exit, string output) = await InstallAsync(MakeBundle("v1"), "--config", config);
        Assert.True(exit == 0, output);
        string outbox = Path.Combine(_root, "var/lib/sensorkit-node/outbox.db");
        Directory.CreateDirectory(Path.GetDirectoryName(outbox)!);
        File.WriteAllText(outbox, "queued telemetry");

        (exit, output) = await InstallAsync(MakeBundle("v2"));

        Assert.True(exit == 0, output);
        Assert.Equal("v2", File.ReadAllText(Path.Combine(_root, "opt/sensorkit/node/current/version.txt")));
        Assert.Equal(File.ReadAllText(config), File.ReadAllText(Path.Combine(_root, "etc/sensorkit/node.json")));
        Assert.Equal("queued telemetry", File.ReadAllText(outbox));
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(_root, "opt/sensorkit/node/releases")).Length);

        // A third release drops the oldest one; the running one and the one before stay.
        (exit, output) = await InstallAsync(MakeBundle("v3"));
        Assert.True(exit == 0, output);
        string[] kept = [.. Directory.GetDirectories(Path.Combine(_root, "opt/sensorkit/node/releases")).Select(d => File.ReadAllText(Path.Combine(d, "version.txt"))).Order()];
        Assert.Equal(["v2", "v3"], kept);
    }

    [Fact]
    public async Task A_native_aot_bundle_is_named_after_its_executable_and_upgrades_alike()
    {
        string config = WriteConfig("node.json", """{"Node":{"Id":"river-3"}}""");
        (int exit, string output) = await InstallAsync(MakeBundle("v1", nativeAot: true), "--config", config);
        Assert.True(exit == 0, output);

        (exit, output) = await InstallAsync(MakeBundle("v2", nativeAot: true));

        Assert.True(exit == 0, output);
        Assert.Equal("v2", File.ReadAllText(Path.Combine(_root, "opt/sensorkit/node/current/version.txt")));
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(_root, "opt/sensorkit/node/releases")).Length);
        Assert.False(File.Exists(Path.Combine(_root, "opt/sensorkit/node/current/sensorkit-node.dll")));
    }

    [Fact]
    public async Task A_jit_bundle_without_its_assembly_is_refused_as_incomplete()
    {
        string bundle = MakeBundle("v1");
        File.Move(Path.Combine(bundle, "sensorkit-node.dll"), Path.Combine(bundle, "SensorKit.Node.dll"));
        string config = WriteConfig("node.json", """{"Node":{"Id":"river-3"}}""");

        (int exit, string output) = await InstallAsync(bundle, "--config", config);

        Assert.NotEqual(0, exit);
        Assert.Contains("sensorkit-node.dll is missing", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_root, "opt/sensorkit/node/releases")));
    }

    [Fact]
    public async Task A_32_bit_os_is_refused_and_nothing_is_installed()
    {
        SetArchitecture("armhf");

        (int exit, string output) = await InstallAsync(MakeBundle("v1"), "--config", WriteConfig("node.json", "{}"));

        Assert.NotEqual(0, exit);
        Assert.Contains("32-bit OS (armhf)", output, StringComparison.Ordinal);
        Assert.Contains("64-bit Raspberry Pi OS", output, StringComparison.Ordinal);
        AssertNothingInstalled();
    }

    [Fact]
    public async Task I2c_not_enabled_is_refused_with_the_way_to_enable_it()
    {
        File.Delete(Path.Combine(_root, "dev", "i2c-1"));

        (int exit, string output) = await InstallAsync(MakeBundle("v1"), "--config", WriteConfig("node.json", "{}"));

        Assert.NotEqual(0, exit);
        Assert.Contains("I2C is not enabled", output, StringComparison.Ordinal);
        Assert.Contains("raspi-config nonint do_i2c 0", output, StringComparison.Ordinal);
        AssertNothingInstalled();
    }

    [Theory]
    [InlineData(1, "configured sensors do not answer")]
    [InlineData(2, "the configuration is invalid")]
    [InlineData(3, "the I2C bus cannot be used")]
    public async Task A_failed_sensor_check_installs_nothing(int scanExit, string expected)
    {
        (int exit, string output) = await InstallAsync(MakeBundle("v1", scanExit), "--config", WriteConfig("node.json", "{}"));

        Assert.NotEqual(0, exit);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.Contains("unchanged", output, StringComparison.Ordinal);
        AssertNothingInstalled();
    }

    [Fact]
    public async Task A_failed_check_during_an_upgrade_keeps_the_running_release()
    {
        (int exit, string output) = await InstallAsync(MakeBundle("v1"), "--config", WriteConfig("node.json", """{"Node":{"Id":"river-3"}}"""));
        Assert.True(exit == 0, output);
        string[] before = Snapshot();

        (exit, output) = await InstallAsync(MakeBundle("v2", scanExit: 1), "--config", WriteConfig("other.json", """{"Node":{"Id":"typo"}}"""));

        Assert.NotEqual(0, exit);
        Assert.Equal(before, Snapshot());
    }

    [Fact]
    public async Task Without_any_configuration_the_first_install_asks_for_one()
    {
        (int exit, string output) = await InstallAsync(MakeBundle("v1"));

        Assert.NotEqual(0, exit);
        Assert.Contains("pass --config FILE", output, StringComparison.Ordinal);
        AssertNothingInstalled();
    }

    [Fact]
    public async Task Mqtt_password_goes_to_a_root_only_file_and_reaches_the_service_as_a_credential()
    {
        const string secret = "correct-horse-battery-staple";
        string passwordFile = WriteConfig("pw", secret + "\n");

        (int exit, string output) = await InstallAsync(MakeBundle("v1"), "--config", WriteConfig("node.json", "{}"), "--mqtt-username", "river-3", "--mqtt-password-file", passwordFile);

        Assert.True(exit == 0, output);
        string stored = Path.Combine(_root, "etc/sensorkit/credentials/mqtt-password");
        Assert.Equal(secret + "\n", File.ReadAllText(stored));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(stored));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(stored)!));
        string dropIn = File.ReadAllText(Path.Combine(_root, "etc/systemd/system/sensorkit-node.service.d/credentials.conf"));
        Assert.Contains("LoadCredential=mqtt-password:/etc/sensorkit/credentials/mqtt-password", dropIn, StringComparison.Ordinal);
        Assert.Contains("Environment=Mqtt__PasswordFile=%d/mqtt-password", dropIn, StringComparison.Ordinal);
        Assert.Contains("Environment=Mqtt__Username=river-3", dropIn, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, dropIn, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, output, StringComparison.Ordinal);

        // An upgrade without the options checks the configuration with the stored account, and keeps it.
        (exit, output) = await InstallAsync(MakeBundle("v2"));
        Assert.True(exit == 0, output);
        Assert.Contains($"scan stub args: scan --Mqtt:Username river-3 --Mqtt:PasswordFile {stored}", output, StringComparison.Ordinal);
        Assert.Equal(secret + "\n", File.ReadAllText(stored));
        Assert.Equal(dropIn, File.ReadAllText(Path.Combine(_root, "etc/systemd/system/sensorkit-node.service.d/credentials.conf")));
    }

    [Fact]
    public async Task A_gateway_bundle_installs_without_i2c_or_a_sensor_check()
    {
        File.Delete(Path.Combine(_root, "dev", "i2c-1"));
        string bundle = Path.Combine(_dir, "gateway-bundle");
        Directory.CreateDirectory(Path.Combine(bundle, "deploy"));
        string exe = Path.Combine(bundle, "sensorkit-gateway");
        File.WriteAllText(exe, "#!/bin/sh\necho 'the gateway has no scan' >&2\nexit 64\n");
        File.SetUnixFileMode(exe, (UnixFileMode)0b111_101_101);
        File.WriteAllText(Path.Combine(bundle, "sensorkit-gateway.dll"), "gateway");
        File.Copy(Script, Path.Combine(bundle, "deploy", "install.sh"));
        File.Copy(Path.Combine(RepoPaths.Root, "hardware", "systemd", "sensorkit-gateway.service"), Path.Combine(bundle, "deploy", "sensorkit-gateway.service"));

        const string key = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n";
        (int exit, string output) = await InstallAsync(bundle, "--config", WriteConfig("gateway.json", """{"Broker":{"Mode":"Embedded"}}"""),
            "--tls-key", WriteConfig("broker.key", key), "--mqtt-username", "gateway-1", "--mqtt-password-file", WriteConfig("pw", "secret\n"));

        Assert.True(exit == 0, output);
        Assert.True(File.Exists(Path.Combine(_root, "opt/sensorkit/gateway/current/sensorkit-gateway")));
        Assert.Equal("/etc/sensorkit/gateway.json", new FileInfo(Path.Combine(_root, "opt/sensorkit/gateway/current/appsettings.json")).LinkTarget);
        Assert.True(File.Exists(Path.Combine(_root, "etc/systemd/system/sensorkit-gateway.service")));
        Assert.Contains("dry run: systemctl enable sensorkit-gateway.service", output, StringComparison.Ordinal);

        // The broker's TLS key and the gateway's own account reach the service as credentials, root-only on disk.
        string storedKey = Path.Combine(_root, "etc/sensorkit/credentials/broker-tls-key");
        Assert.Equal(key, File.ReadAllText(storedKey));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(storedKey));
        string tls = File.ReadAllText(Path.Combine(_root, "etc/systemd/system/sensorkit-gateway.service.d/tls.conf"));
        Assert.Contains("LoadCredential=broker-tls-key:/etc/sensorkit/credentials/broker-tls-key", tls, StringComparison.Ordinal);
        Assert.Contains("Environment=Broker__Tls__KeyFile=%d/broker-tls-key", tls, StringComparison.Ordinal);
        string account = File.ReadAllText(Path.Combine(_root, "etc/systemd/system/sensorkit-gateway.service.d/credentials.conf"));
        Assert.Contains("Environment=Broker__Username=gateway-1", account, StringComparison.Ordinal);
        Assert.Contains("Environment=Broker__PasswordFile=%d/mqtt-password", account, StringComparison.Ordinal);
        Assert.DoesNotContain("no scan", output, StringComparison.Ordinal);
    }

    private void AssertNothingInstalled()
    {
        Assert.False(Directory.Exists(Path.Combine(_root, "opt")), string.Join(", ", Snapshot()));
        Assert.False(Directory.Exists(Path.Combine(_root, "etc")), string.Join(", ", Snapshot()));
        Assert.False(Directory.Exists(Path.Combine(_root, "usr")), string.Join(", ", Snapshot()));
    }

    /// <summary>Every path under the fake root with its content or link target.</summary>
    private string[] Snapshot() =>
        [.. Directory.EnumerateFileSystemEntries(_root, "*", SearchOption.AllDirectories)
            .Select(p => new FileInfo(p) is { LinkTarget: { } target } ? $"{Path.GetRelativePath(_root, p)} -> {target}"
                : File.Exists(p) ? $"{Path.GetRelativePath(_root, p)} = {File.ReadAllText(p)}"
                : Path.GetRelativePath(_root, p))
            .Order(StringComparer.Ordinal)];

    private void SetArchitecture(string arch)
    {
        string dpkg = Path.Combine(_fakeBin, "dpkg");
        File.WriteAllText(dpkg, $"#!/bin/sh\n[ \"$1\" = --print-architecture ] && echo {arch}\n");
        File.SetUnixFileMode(dpkg, (UnixFileMode)0b111_101_101);
    }

    /// <summary>
    /// A publish bundle as dotnet publish lays it out, with a stub executable that only knows "scan"; a Native AOT
    /// bundle has no assembly beside it, and its executable differs from release to release.
    /// </summary>
    private string MakeBundle(string version, int scanExit = 0, bool nativeAot = false)
    {
        string bundle = Path.Combine(_dir, $"bundle-{version}-{scanExit}-{(nativeAot ? "aot" : "jit")}");
        Directory.CreateDirectory(Path.Combine(bundle, "deploy"));
        string exe = Path.Combine(bundle, "sensorkit-node");
        File.WriteAllText(exe, $"#!/bin/sh\n# {(nativeAot ? version : "launcher")}\n[ \"$1\" = scan ] || exit 64\necho 'scan stub: {(scanExit == 0 ? "ok" : "problem")}'\necho \"scan stub args: $*\"\nexit {scanExit}\n");
        File.SetUnixFileMode(exe, (UnixFileMode)0b111_101_101);
        if (!nativeAot)
        {
            File.WriteAllText(Path.Combine(bundle, "sensorkit-node.dll"), $"assembly {version}");
        }

        File.WriteAllText(Path.Combine(bundle, "version.txt"), version);
        File.WriteAllText(Path.Combine(bundle, "appsettings.json"), """{"Node":{"Id":"node-1"}}""");
        File.Copy(Script, Path.Combine(bundle, "deploy", "install.sh"));
        File.Copy(NodeUnit, Path.Combine(bundle, "deploy", "sensorkit-node.service"));
        return bundle;
    }

    private string WriteConfig(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private Task<(int Exit, string Output)> InstallAsync(string bundle, params string[] args) =>
        RunAsync("bash", [Path.Combine(bundle, "deploy", "install.sh"), "--root", _root, .. args]);

    private async Task<(int Exit, string Output)> RunAsync(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["PATH"] = $"{_fakeBin}:{Environment.GetEnvironmentVariable("PATH")}";
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
