using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using SensorKit.Gateway.Broker.Accounts;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Node.Publishing;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway;

/// <summary>The accounts file, its hashes (checked against the real mosquitto_passwd and Mosquitto), and the accounts commands.</summary>
public sealed class AccountsTests
{
    private static readonly IConfiguration NoConfiguration = new ConfigurationBuilder().Build();

    private static string MosquittoPasswd =>
        new[] { "/usr/bin/mosquitto_passwd", "/usr/sbin/mosquitto_passwd" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mosquitto_passwd is not installed; .ci/run installs it (apt-get install mosquitto)");

    [Fact]
    public async Task A_hash_written_by_mosquitto_passwd_verifies_and_logs_in_at_the_embedded_broker()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string dir = TestDirectories.Create("passwd");
        string passwd = Path.Combine(dir, "passwd");
        using (Process p = Process.Start(MosquittoPasswd, ["-c", "-b", passwd, "river-3", "correct horse battery"]))
        {
            await p.WaitForExitAsync(ct);
            Assert.Equal(0, p.ExitCode);
        }

        string hash = (await File.ReadAllTextAsync(passwd, ct)).Trim().Split(':', 2)[1];
        Assert.StartsWith("$7$101$", hash, StringComparison.Ordinal);
        Assert.True(PasswordHash.Verify(hash, "correct horse battery"));
        Assert.False(PasswordHash.Verify(hash, "correct horse batter"));

        // The same line serves the embedded broker: an account made with Mosquitto's own tool.
        int port = FreePort.Get();
        string file = TestAccounts.FileFor(port);
        AccountRegistry.Load(file).With(new Account("river-3", AccountRole.Node, "rhine", "river-3", hash)).Save(file);
        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(ct);
        using IMqttClient client = new MqttClientFactory().CreateMqttClient();
        MqttClientConnectResult result = await client.ConnectAsync(
            BrokerAuthorizationTests.Options(port, new TestAccount("river-3", "correct horse battery", passwd, "sensorkit-rhine-river-3"), "sensorkit-rhine-river-3"), ct);
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), ct);
        await gateway.StopAsync(CancellationToken.None);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_hash_written_by_the_gateway_is_accepted_by_mosquitto_and_a_wrong_password_is_not()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        TestAccount node = TestAccounts.Node(port, "rhine", "river-3");
        (string passwordFile, string aclFile) = await BrokerAuthorizationTests.ExportForMosquittoAsync(TestAccounts.FileFor(port));
        Assert.Matches(@"^rhine\.river-3:\$7\$10000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$", await File.ReadAllTextAsync(passwordFile, ct));
        await using MosquittoBroker mosquitto = await MosquittoBroker.StartAsync($"password_file {passwordFile}\nacl_file {aclFile}\n", port, allowAnonymous: false);

        using IMqttClient client = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.Success, (await client.ConnectAsync(BrokerAuthorizationTests.Options(port, node, node.ClientId), ct)).ResultCode);
        await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), ct);
        using IMqttClient wrong = new MqttClientFactory().CreateMqttClient();
        MqttClientConnectResult refused = await wrong.ConnectAsync(BrokerAuthorizationTests.Options(port, node with { Password = "guess" }, node.ClientId), ct);
        Assert.NotEqual(MqttClientConnectResultCode.Success, refused.ResultCode);
    }

    [Fact]
    public async Task Accounts_add_prints_the_password_once_stores_only_its_hash_and_list_remove_and_export_work()
    {
        string dir = TestDirectories.Create("cli");
        string file = Path.Combine(dir, "accounts.json");
        (int code, string stdout, string stderr) = await RunAsync("accounts", "add", "river-3", "--site", "rhine-cologne", "--accounts-file", file);

        Assert.True(code == 0, stderr);
        string password = stdout.TrimEnd('\n');
        Assert.Matches("^[A-Za-z0-9_-]{24}$", password);
        Assert.DoesNotContain(password, stderr, StringComparison.Ordinal);
        Assert.Contains("Mqtt:Username river-3", stderr, StringComparison.Ordinal);
        Assert.Contains("sensorkit-rhine-cologne-river-3", stderr, StringComparison.Ordinal);
        string stored = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(password, stored, StringComparison.Ordinal);
        Account account = Assert.Single(AccountRegistry.Load(file).Accounts);
        Assert.Equal((AccountRole.Node, "rhine-cologne", "river-3"), (account.Role, account.Site, account.Node));
        Assert.True(PasswordHash.Verify(account.PasswordHash, password));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(file));
        }

        // Into a file instead of standard output, created for its owner only.
        string credential = Path.Combine(dir, "ops.password");
        (code, stdout, stderr) = await RunAsync("accounts", "add", "ops", "--role", "subscriber", "--credential-file", credential, "--accounts-file", file);
        Assert.True(code == 0, stderr);
        Assert.Empty(stdout);
        Assert.True(PasswordHash.Verify(AccountRegistry.Load(file).Find("ops")!.PasswordHash, (await File.ReadAllTextAsync(credential, TestContext.Current.CancellationToken)).TrimEnd('\n')));

        (code, _, stderr) = await RunAsync("accounts", "add", "river-3", "--site", "rhine-cologne", "--accounts-file", file);
        Assert.Equal(1, code);
        Assert.Contains("account 'river-3': exists already", stderr, StringComparison.Ordinal);

        (code, stdout, _) = await RunAsync("accounts", "list", "--accounts-file", file);
        Assert.Equal(0, code);
        Assert.Contains("river-3", stdout, StringComparison.Ordinal);
        Assert.Contains("subscriber", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("$7$", stdout, StringComparison.Ordinal);

        string passwd = Path.Combine(dir, "passwd");
        string acl = Path.Combine(dir, "acl");
        (code, _, stderr) = await RunAsync("accounts", "export", "--password-file", passwd, "--acl-file", acl, "--accounts-file", file);
        Assert.True(code == 0, stderr);
        Assert.Equal($"river-3:{account.PasswordHash}", (await File.ReadAllLinesAsync(passwd, TestContext.Current.CancellationToken))[0]);
        string aclText = await File.ReadAllTextAsync(acl, TestContext.Current.CancellationToken);
        Assert.Contains("user river-3\ntopic write sensorkit/v1/rhine-cologne/river-3/#\ntopic write homeassistant/+/sensorkit_rhine-cologne_river-3/#\n", aclText, StringComparison.Ordinal);
        Assert.Contains("user ops\ntopic read sensorkit/#\ntopic read homeassistant/#\n", aclText, StringComparison.Ordinal);
        Assert.StartsWith("# Written by", aclText, StringComparison.Ordinal);

        (code, _, _) = await RunAsync("accounts", "remove", "river-3", "--accounts-file", file);
        Assert.Equal(0, code);
        Assert.Null(AccountRegistry.Load(file).Find("river-3"));
        (code, _, stderr) = await RunAsync("accounts", "remove", "river-3", "--accounts-file", file);
        Assert.Equal(1, code);
        Assert.Contains("there is no account 'river-3'", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a node account needs --site", "accounts", "add", "river-3")]
    [InlineData("--site and --node are for node accounts only", "accounts", "add", "ops", "--role", "subscriber", "--site", "x")]
    [InlineData("Argument 'boss' not recognized", "accounts", "add", "ops", "--role", "boss")]
    [InlineData("Unrecognized command or argument '--bogus'", "accounts", "list", "--bogus")]
    public async Task Bad_arguments_exit_with_code_2_and_say_why(string message, params string[] args)
    {
        string file = Path.Combine(TestDirectories.Create("cli"), "accounts.json");
        (int code, _, string stderr) = await RunAsync([.. args, "--accounts-file", file]);

        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_accounts_file_the_commands_name_the_option_and_the_key_and_a_damaged_file_names_itself()
    {
        (int code, _, string stderr) = await RunAsync("accounts", "list");
        Assert.Equal(2, code);
        Assert.Contains("--accounts-file FILE or set Broker:AccountsFile", stderr, StringComparison.Ordinal);

        string file = Path.Combine(TestDirectories.Create("cli"), "accounts.json");
        await File.WriteAllTextAsync(file, """{ "accounts": [ { "name": "a", "role": "node", "site": "s", "node": "alerts", "password": "$7$101$c2FsdA==$eA==" } ] }""", TestContext.Current.CancellationToken);
        (code, _, stderr) = await RunAsync("accounts", "list", "--accounts-file", file);
        Assert.Equal(2, code);
        Assert.Contains($"{file}: accounts[0]: account 'a': password is not a mosquitto_passwd", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sensorkit-x", "s", "n", "reserved for client ids")]
    [InlineData("a:b", "s", "n", "the name must be")]
    [InlineData("n-alerts", "s", "alerts", "gateway's alert topics")]
    [InlineData("gw-site", "gateway", "n", "which the broker keeps for itself")]
    [InlineData("clash", "a-b", "c", "is that of account 'first'")]
    [InlineData("same", "a", "b-c", "belongs to account 'first' already")]
    public void Conflicting_or_reserved_accounts_are_refused(string name, string site, string node, string message)
    {
        AccountRegistry registry = AccountRegistry.Empty.With(new Account("first", AccountRole.Node, "a", "b-c", PasswordHash.Create("x", 1)));
        AccountException e = Assert.Throws<AccountException>(() => registry.With(new Account(name, AccountRole.Node, site, node, PasswordHash.Create("x", 1))));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_provisioned_with_accounts_add_publishes_its_own_telemetry_and_nothing_for_another_node()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        string file = TestAccounts.FileFor(port);
        string dir = Path.GetDirectoryName(file)!;
        string credential = Path.Combine(dir, "river-9.password");
        (int code, _, string stderr) = await RunAsync("accounts", "add", "river-9", "--site", "test", "--credential-file", credential, "--accounts-file", file);
        Assert.True(code == 0, stderr);

        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(ct);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        // The provisioned node, with the credential file as printed (not the account Hosts would make for it).
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("river-9", FreePort.Get());
        config["Mqtt:Broker"] = $"mqtt://127.0.0.1:{port}";
        config["Mqtt:Username"] = "river-9";
        config["Mqtt:PasswordFile"] = credential;
        using IHost node = Hosts.Node(config);

        // The same account on a node configured as someone else: it may connect under its own name, but not speak for river-10.
        Dictionary<string, string?> impostorConfig = Hosts.SimulatedNodeConfig("river-10", FreePort.Get());
        impostorConfig["Mqtt:Broker"] = $"mqtt://127.0.0.1:{port}";
        impostorConfig["Mqtt:Username"] = "river-9";
        impostorConfig["Mqtt:PasswordFile"] = credential;
        impostorConfig["Mqtt:ClientId"] = "river-9";
        var impostorLogs = new LogCollector();
        using IHost impostor = Hosts.Node(impostorConfig, s => s.AddSingleton<ILoggerProvider>(impostorLogs));
        await node.StartAsync(ct);
        await impostor.StartAsync(ct);
        try
        {
            await probe.WaitForAsync(m => m.Topic == Topics.Telemetry("test", "river-9", "bme280", "temperature"), TimeSpan.FromSeconds(20), "river-9's telemetry");
            MqttPublisher impostorPublisher = impostor.Services.GetRequiredService<MqttPublisher>();
            await Wait.UntilAsync(() => impostorPublisher.Rejected >= 2, TimeSpan.FromSeconds(20), "refused publishes of the impostor",
                () => string.Join('\n', impostorLogs.Lines.Select(l => l.Message)));
            Assert.Contains(impostorLogs.Lines, l => l.Message.Contains("Broker rejected message on sensorkit/v1/test/river-10/", StringComparison.Ordinal) && l.Message.Contains("NotAuthorized", StringComparison.Ordinal));
            Assert.DoesNotContain(probe.All, m => m.Topic.Contains("/river-10/", StringComparison.Ordinal));
        }
        finally
        {
            await impostor.StopAsync(CancellationToken.None);
            await node.StopAsync(CancellationToken.None);
            await gateway.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_gateway_started_before_its_accounts_file_exists_lets_the_node_in_once_accounts_add_creates_it()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        string dir = TestDirectories.Create("late");
        string file = Path.Combine(dir, "accounts.json");
        Dictionary<string, string?> config = Hosts.GatewayConfig(port);
        config["Broker:AccountsFile"] = file;
        using IHost gateway = Hosts.Gateway(config);
        await gateway.StartAsync(ct);
        var late = new TestAccount("late-1", "not-yet", Path.Combine(dir, "late-1.password"), "sensorkit-test-late-1");
        using IMqttClient client = new MqttClientFactory().CreateMqttClient();
        Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, (await client.ConnectAsync(BrokerAuthorizationTests.Options(port, late, late.ClientId), ct)).ResultCode);

        (int code, _, string stderr) = await RunAsync("accounts", "add", "late-1", "--site", "test", "--credential-file", late.PasswordFile, "--accounts-file", file);
        Assert.True(code == 0, stderr);
        late = late with { Password = (await File.ReadAllTextAsync(late.PasswordFile, ct)).TrimEnd('\n') };
        Assert.Equal(MqttClientConnectResultCode.Success, (await client.ConnectAsync(BrokerAuthorizationTests.Options(port, late, late.ClientId), ct)).ResultCode);
        await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), ct);
        await gateway.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_gateway_executable_runs_the_accounts_commands()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string configuration = System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyConfigurationAttribute>(typeof(AccountsTests).Assembly)?.Configuration ?? "Debug";
        string exe = Path.Combine(RepoPaths.Root, "gateway", "SensorKit.Gateway.Worker", "bin", configuration, "net10.0", "sensorkit-gateway.dll");
        string file = Path.Combine(TestDirectories.Create("exe"), "accounts.json");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet, ["exec", exe, "accounts", "add", "river-3", "--site", "rhine-cologne", "--accounts-file", file])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync(ct);
        string stdout = await p.StandardOutput.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);

        Assert.True(p.ExitCode == 0, await stderr);
        Assert.True(PasswordHash.Verify(AccountRegistry.Load(file).Find("river-3")!.PasswordHash, stdout.TrimEnd('\n')));
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await AccountsCommand.RunAsync(args, NoConfiguration, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
