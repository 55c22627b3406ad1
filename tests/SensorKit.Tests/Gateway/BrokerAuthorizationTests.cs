using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.Broker.Accounts;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway;

/// <summary>
/// Who may do what at the broker: the same accounts on the embedded broker and on a real Mosquitto that runs
/// with the password_file and acl_file that `sensorkit-gateway accounts export` writes.
/// </summary>
public sealed class BrokerAuthorizationTests
{
    public enum Actor
    {
        Anonymous,
        NodeA,
        NodeB,
        Gateway,
    }

    public enum Action
    {
        PublishOwnTelemetry,
        PublishOtherTelemetry,
        PublishAlert,
        PublishOtherStatus,
        SubscribeAll,
        TakeOverOtherClientId,
    }

    /// <summary>Refused: 0x87 in the PUBACK/SUBACK or the CONNACK refused, and nothing got through. Filtered: SUBACK granted, but only readable topics arrive.</summary>
    public enum Outcome
    {
        Allowed,
        Refused,
        Filtered,
        TakenOver,
    }

    private const string Site = "m";

    // Rows: anonymous, node A, node B, gateway account. Columns: the six actions, in the order of Action.
    // "Own" telemetry of anonymous and the gateway is node A's; "other" is node B's (node A's for node B).
    private static readonly Dictionary<Actor, Outcome[]> Embedded = new()
    {
        [Actor.Anonymous] = [Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Refused],
        [Actor.NodeA] = [Outcome.Allowed, Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Refused],
        [Actor.NodeB] = [Outcome.Allowed, Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Refused],
        [Actor.Gateway] = [Outcome.Refused, Outcome.Refused, Outcome.Allowed, Outcome.Refused, Outcome.Refused, Outcome.Refused],
    };

    // Mosquitto 2.0 grants any SUBSCRIBE and checks read rights on each delivery; with allow_anonymous true on the
    // same listener it cannot bind client ids to accounts (use_username_as_clientid would refuse anonymous clients):
    // see Mosquitto_with_use_username_as_clientid_lets_nobody_take_over_a_session and docs/security.md.
    private static readonly Dictionary<Actor, Outcome[]> Mosquitto = new()
    {
        [Actor.Anonymous] = [Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Filtered, Outcome.TakenOver],
        [Actor.NodeA] = [Outcome.Allowed, Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Filtered, Outcome.TakenOver],
        [Actor.NodeB] = [Outcome.Allowed, Outcome.Refused, Outcome.Refused, Outcome.Refused, Outcome.Filtered, Outcome.TakenOver],
        [Actor.Gateway] = [Outcome.Refused, Outcome.Refused, Outcome.Allowed, Outcome.Refused, Outcome.Filtered, Outcome.TakenOver],
    };

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private sealed record Accounts(TestAccount A, TestAccount B, TestAccount Gateway, string File);

    private static Accounts Provision(int port) => new(
        TestAccounts.Node(port, Site, "a"),
        TestAccounts.Node(port, Site, "b"),
        TestAccounts.Add(port, "gw", AccountRole.Gateway),
        TestAccounts.FileFor(port));

    [Theory]
    [InlineData("embedded")]
    [InlineData("mosquitto")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Authorization_matrix(string broker)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        Accounts accounts = Provision(port);
        IHost? gateway = null;
        MosquittoBroker? mosquitto = null;
        var logs = new LogCollector();
        Dictionary<Actor, Outcome[]> expected;
        if (broker == "embedded")
        {
            gateway = Hosts.Gateway(Hosts.GatewayConfig(port), s => s.AddSingleton<ILoggerProvider>(logs));
            await gateway.StartAsync(ct);
            await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(Timeout, ct);
            expected = Embedded;
        }
        else
        {
            (string passwordFile, string aclFile) = await ExportForMosquittoAsync(accounts.File);
            mosquitto = await MosquittoBroker.StartAsync($"password_file {passwordFile}\nacl_file {aclFile}\n", port);
            expected = Mosquitto;
        }

        try
        {
            // An anonymous observer reads everything it may: sensorkit/# (docs/security.md).
            await using MqttProbe observer = await MqttProbe.StartAsync(port);

            // Both nodes announce themselves, as in the field: the gateway takes telemetry only from known nodes.
            foreach (TestAccount node in new[] { accounts.A, accounts.B })
            {
                using IMqttClient c = await ConnectAsync(port, node, node.ClientId, ct);
                string own = node == accounts.A ? "a" : "b";
                await c.PublishAsync(Message(Topics.Status(Site, own), "announced", retain: true), ct);
                await observer.WaitForAsync(m => m.Topic == Topics.Status(Site, own), Timeout, $"the status of {own}");
            }

            var actual = new Dictionary<Actor, Outcome[]>();
            foreach (Actor actor in Enum.GetValues<Actor>())
            {
                actual[actor] = new Outcome[Enum.GetValues<Action>().Length];
                foreach (Action action in Enum.GetValues<Action>())
                {
                    actual[actor][(int)action] = await RunAsync(port, accounts, actor, action, observer, ct);
                }
            }

            string Table(Dictionary<Actor, Outcome[]> t) => string.Join('\n', t.Select(r => $"{r.Key,-10} {string.Join(' ', r.Value.Select(o => $"{o,-9}"))}"));
            Assert.True(
                Enum.GetValues<Actor>().All(a => expected[a].SequenceEqual(actual[a])),
                $"{broker}: expected\n{Table(expected)}\nactual\n{Table(actual)}");

            if (gateway is not null)
            {
                // 4 + 3 + 3 + 3 refused publishes, 4 refused subscriptions; logged once per client id, naming account and topic.
                BrokerAuthorization authorization = gateway.Services.GetRequiredService<BrokerAuthorization>();
                Assert.Equal(13, authorization.PublishesRefused);
                Assert.Equal(4, authorization.SubscriptionsRefused);
                string[] refusedPublishes = [.. logs.Lines.Select(l => l.Message).Where(m => m.StartsWith("Broker refused a publish", StringComparison.Ordinal))];
                Assert.Equal(4, refusedPublishes.Length);
                Assert.Contains(refusedPublishes, m => m.Contains($"client {accounts.A.ClientId} (account {accounts.A.Name}) to sensorkit/v1/m/b/", StringComparison.Ordinal));
            }
        }
        finally
        {
            if (gateway is not null)
            {
                await gateway.StopAsync(CancellationToken.None);
                gateway.Dispose();
            }

            if (mosquitto is not null)
            {
                await mosquitto.DisposeAsync();
            }
        }
    }

    private static async Task<Outcome> RunAsync(int port, Accounts accounts, Actor actor, Action action, MqttProbe observer, CancellationToken ct)
    {
        (TestAccount? self, string clientId) = actor switch
        {
            Actor.NodeA => (accounts.A, accounts.A.ClientId),
            Actor.NodeB => (accounts.B, accounts.B.ClientId),
            Actor.Gateway => (accounts.Gateway, accounts.Gateway.ClientId),
            _ => ((TestAccount?)null, "matrix-anonymous"),
        };
        string own = actor == Actor.NodeB ? "b" : "a";
        string other = actor == Actor.NodeB ? "a" : "b";
        string marker = $"{actor}-{action}-{Guid.NewGuid():N}";

        if (action == Action.TakeOverOtherClientId)
        {
            TestAccount victimAccount = actor == Actor.NodeA ? accounts.B : accounts.A;
            using IMqttClient victim = await ConnectAsync(port, victimAccount, victimAccount.ClientId, ct);
            using IMqttClient intruder = new MqttClientFactory().CreateMqttClient();
            MqttClientConnectResult result = await intruder.ConnectAsync(Options(port, self, victimAccount.ClientId), ct);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                Assert.True(await victim.TryPingAsync(ct), $"{actor} was refused, yet the victim lost its connection");
                return Outcome.Refused;
            }

            await Wait.UntilAsync(() => !victim.IsConnected, Timeout, $"{actor} taking over {victimAccount.ClientId}");
            await intruder.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), ct);
            return Outcome.TakenOver;
        }

        using IMqttClient client = await ConnectAsync(port, self, clientId, ct);
        try
        {
            if (action == Action.SubscribeAll)
            {
                var received = new List<string>();
                client.ApplicationMessageReceivedAsync += e =>
                {
                    lock (received)
                    {
                        received.Add(e.ApplicationMessage.Topic);
                    }

                    return Task.CompletedTask;
                };
                MqttClientSubscribeResult sub = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);
                MqttClientSubscribeResultCode code = sub.Items.Single().ResultCode;
                if (code == MqttClientSubscribeResultCode.NotAuthorized)
                {
                    return Outcome.Refused;
                }

                // Granted: a node's telemetry must reach only those who may read it, which is everyone but the nodes.
                string sentinel = Topics.Telemetry(Site, "a", "probe", marker);
                using IMqttClient a = await ConnectAsync(port, accounts.A, accounts.A.Name, ct);
                await a.PublishAsync(Message(sentinel, marker, retain: false), ct);
                await observer.WaitForAsync(m => m.Topic == sentinel, Timeout, "the sentinel at the observer");
                bool mayRead = actor is Actor.Anonymous or Actor.Gateway;
                if (mayRead)
                {
                    await Wait.UntilAsync(() => { lock (received) { return received.Contains(sentinel); } }, Timeout, $"the sentinel at {actor}");
                }

                await client.PingAsync(ct);
                lock (received)
                {
                    // A node may read nothing at all, retained messages included.
                    Assert.True(mayRead ? received.Contains(sentinel) : received.Count == 0, $"{actor} subscribed to # and received {string.Join(", ", received)}");
                }

                return Outcome.Filtered;
            }

            (string topic, bool retain) = action switch
            {
                Action.PublishOwnTelemetry => (Topics.Telemetry(Site, own, "bme280", marker), false),
                Action.PublishOtherTelemetry => (Topics.Telemetry(Site, other, "bme280", marker), false),
                Action.PublishAlert => (Topics.AlertActive(Site, "fake", marker), true),
                // Retained, as a forged "online" or "lost" would be; the marker is the payload.
                _ => (Topics.Status(Site, other), true),
            };

            MqttClientPublishResult published = await client.PublishAsync(Message(topic, marker, retain), ct);
            if (published.ReasonCode == MqttClientPublishReasonCode.NotAuthorized)
            {
                // Nothing got through: a later allowed message arrives, this one never did.
                string sentinel = Topics.Telemetry(Site, "a", "probe", $"after-{marker}");
                using IMqttClient a = await ConnectAsync(port, accounts.A, accounts.A.Name, ct);
                await a.PublishAsync(Message(sentinel, marker, retain: false), ct);
                await observer.WaitForAsync(m => m.Topic == sentinel, Timeout, "the sentinel at the observer");
                Assert.DoesNotContain(observer.All, m => m.Topic == topic && m.Text.Contains(marker, StringComparison.Ordinal));
                return Outcome.Refused;
            }

            Assert.True(published.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers, $"{actor} {action}: {published.ReasonCode}");
            await observer.WaitForAsync(m => m.Topic == topic && m.Text.Contains(marker, StringComparison.Ordinal), Timeout, $"{actor} {action} at the observer");
            return Outcome.Allowed;
        }
        finally
        {
            if (client.IsConnected)
            {
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), ct);
            }
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Mosquitto_with_use_username_as_clientid_lets_nobody_take_over_a_session()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        Accounts accounts = Provision(port);
        (string passwordFile, string aclFile) = await ExportForMosquittoAsync(accounts.File);
        // The production setting docs/security.md gives for Mosquitto: no anonymous clients, client id = user name.
        await using MosquittoBroker mosquitto = await MosquittoBroker.StartAsync(
            $"password_file {passwordFile}\nacl_file {aclFile}\nuse_username_as_clientid true\n", port, allowAnonymous: false);

        using IMqttClient a = await ConnectAsync(port, accounts.A, accounts.A.ClientId, ct);
        foreach (TestAccount intruder in (TestAccount[])[accounts.B, accounts.Gateway])
        {
            using IMqttClient b = await ConnectAsync(port, intruder, accounts.A.ClientId, ct);
            Assert.True(await a.TryPingAsync(ct), $"{intruder.Name} took over node a's session");
            await b.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), ct);
        }

        using IMqttClient anonymous = new MqttClientFactory().CreateMqttClient();
        MqttClientConnectResult refused = await anonymous.ConnectAsync(Options(port, null, accounts.A.ClientId), ct);
        Assert.NotEqual(MqttClientConnectResultCode.Success, refused.ResultCode);
        Assert.True(await a.TryPingAsync(ct));
    }

    [Fact]
    public async Task Nobody_takes_over_the_gateways_own_client_and_the_gateway_keeps_raising_alerts()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        Dictionary<string, string?> config = Hosts.GatewayConfig(port);
        config["Rules:Threshold:0:Id"] = "heat";
        config["Rules:Threshold:0:Quantity"] = "temperature";
        config["Rules:Threshold:0:Above"] = "35";
        using IHost gateway = Hosts.Gateway(config);
        await gateway.StartAsync(ct);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(Timeout, ct);
        BrokerAuthorization authorization = gateway.Services.GetRequiredService<BrokerAuthorization>();
        TestAccount node = TestAccounts.Node(port, "test", "n1");
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        // The id the gateway used before (sensorkit-gateway-<pid>), the one it uses now, and a guess at the prefix.
        string[] ids = [$"sensorkit-gateway-{Environment.ProcessId}", authorization.InternalClientId, "sensorkit-gateway"];
        Assert.StartsWith("sensorkit-gateway-", authorization.InternalClientId, StringComparison.Ordinal);
        foreach (string id in ids)
        {
            foreach (TestAccount? who in (TestAccount?[])[null, node])
            {
                using IMqttClient intruder = new MqttClientFactory().CreateMqttClient();
                MqttClientConnectResult result = await intruder.ConnectAsync(Options(port, who, id), ct);
                Assert.Equal(MqttClientConnectResultCode.ClientIdentifierNotValid, result.ResultCode);
            }
        }

        // The gateway's client is still subscribed: a hot window from n1 raises an alert.
        await using MqttProbe n1 = await MqttProbe.StartAsync(port, filter: null, account: node);
        await n1.PublishAsync(Topics.Status("test", "n1"), Status("n1"), retain: true);
        await n1.PublishAsync(Topics.Telemetry("test", "n1", "bme280", "temperature"), Hot("n1"));
        await probe.WaitForAsync(m => m.Topic == Topics.AlertEvent("test", "heat", "n1"), Timeout, "the alert after the takeover attempts");
        Assert.Equal(6, authorization.ConnectionsRefused);
        Assert.Equal(node.Name, authorization.AccountOf(node.ClientId));
        Assert.True(authorization.OwnsNode(node.Name, "test", "n1"));
        Assert.False(authorization.OwnsNode(node.Name, "test", "n2"));
        Assert.False(authorization.OwnsNode(null, "test", "n1"));
        await gateway.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_will_on_another_nodes_status_is_not_sent()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        Accounts accounts = Provision(port);
        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(ct);
        BrokerAuthorization authorization = gateway.Services.GetRequiredService<BrokerAuthorization>();
        await using MqttProbe observer = await MqttProbe.StartAsync(port);

        // Node a leaves a will that would mark node b "lost", then drops its connection without DISCONNECT (MQTT 5.0 §3.1.2.5).
        IMqttClient a = new MqttClientFactory().CreateMqttClient();
        MqttClientOptions options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(accounts.A.ClientId)
            .WithCredentials(accounts.A.Name, accounts.A.Password).WithProtocolVersion(MqttProtocolVersion.V500)
            .WithWillTopic(Topics.Status(Site, "b")).WithWillPayload("forged"u8.ToArray()).WithWillRetain(true).Build();
        Assert.Equal(MqttClientConnectResultCode.Success, (await a.ConnectAsync(options, ct)).ResultCode);
        a.Dispose();

        await Wait.UntilAsync(() => authorization.PublishesRefused == 1, Timeout, "the refused will");
        Assert.DoesNotContain(observer.All, m => m.Topic == Topics.Status(Site, "b"));
        await gateway.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Anonymous_clients_are_refused_when_they_do_not_come_from_loopback_and_accounts_need_the_right_password()
    {
        int port = FreePort.Get();
        TestAccount node = TestAccounts.Node(port, "test", "n1");
        using IHost gateway = Hosts.Gateway(Hosts.GatewayConfig(port));
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        BrokerAuthorization authorization = gateway.Services.GetRequiredService<BrokerAuthorization>();
        var remote = new System.Net.IPEndPoint(System.Net.IPAddress.Parse("192.0.2.7"), 50000);
        var local = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 50000);
        var mappedLocal = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback.MapToIPv6(), 50000);

        Assert.Equal(MqttConnectReasonCode.NotAuthorized, authorization.AuthorizeConnect(null, [], "watcher", remote).Code);
        Assert.Equal(MqttConnectReasonCode.Success, authorization.AuthorizeConnect(null, [], "watcher", local).Code);
        Assert.Equal(MqttConnectReasonCode.Success, authorization.AuthorizeConnect(null, [], "watcher", mappedLocal).Code);
        // An anonymous client may not use an account's client id or name, nor the broker's prefixes.
        Assert.Equal(MqttConnectReasonCode.ClientIdentifierNotValid, authorization.AuthorizeConnect(null, [], node.ClientId, local).Code);
        Assert.Equal(MqttConnectReasonCode.ClientIdentifierNotValid, authorization.AuthorizeConnect(null, [], node.Name, local).Code);
        Assert.StartsWith("sensorkit-anon-", authorization.AuthorizeConnect(null, [], string.Empty, local).AssignedClientId, StringComparison.Ordinal);
        Assert.Equal(MqttConnectReasonCode.BadUserNameOrPassword, authorization.AuthorizeConnect(node.Name, "wrong"u8, node.ClientId, remote).Code);
        Assert.Equal(MqttConnectReasonCode.BadUserNameOrPassword, authorization.AuthorizeConnect("nobody", "wrong"u8, "nobody", remote).Code);
        Assert.Equal(MqttConnectReasonCode.Success, authorization.AuthorizeConnect(node.Name, Encoding.UTF8.GetBytes(node.Password), node.ClientId, remote).Code);
        Assert.Equal(MqttConnectReasonCode.Success, authorization.AuthorizeConnect(node.Name, Encoding.UTF8.GetBytes(node.Password), node.Name, remote).Code);
        Assert.Equal(MqttConnectReasonCode.ClientIdentifierNotValid, authorization.AuthorizeConnect(node.Name, Encoding.UTF8.GetBytes(node.Password), "something-else", remote).Code);

        // Removing the account (accounts remove) takes effect without a restart: its next publish (within a second) and connection are refused.
        Assert.True(authorization.CanPublish(node.Name, node.ClientId, Topics.Status("test", "n1")));
        AccountRegistry.Load(TestAccounts.FileFor(port)).Without(node.Name).Save(TestAccounts.FileFor(port));
        await Wait.UntilAsync(() => !authorization.CanPublish(node.Name, node.ClientId, Topics.Status("test", "n1")), Timeout, "the removed account losing its rights");
        Assert.Equal(MqttConnectReasonCode.BadUserNameOrPassword, authorization.AuthorizeConnect(node.Name, Encoding.UTF8.GetBytes(node.Password), node.ClientId, remote).Code);
        await gateway.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("sensorkit/v1/m/a/#", "sensorkit/v1/m/a/telemetry/bme280/temperature", true)]
    [InlineData("sensorkit/v1/m/a/#", "sensorkit/v1/m/a", true)]
    [InlineData("sensorkit/v1/m/a/#", "sensorkit/v1/m/ab/status", false)]
    [InlineData("sensorkit/v1/+/alerts/#", "sensorkit/v1/m/alerts/event/heat/a", true)]
    [InlineData("sensorkit/v1/+/alerts/#", "sensorkit/v1/m/a/status", false)]
    [InlineData("sensorkit/v1/+/+/status", "sensorkit/v1/m/a/status", true)]
    [InlineData("sensorkit/v1/+/+/status", "sensorkit/v1/m/a/status/x", false)]
    [InlineData("a/+", "a/", true)]
    [InlineData("#", "$SYS/broker", false)]
    public void Topic_names_match_filters_as_mqtt_5_section_4_7_says(string filter, string topic, bool matches) =>
        Assert.Equal(matches, TopicFilters.Matches(filter, topic));

    [Theory]
    [InlineData("sensorkit/#", "sensorkit/#", true)]
    [InlineData("sensorkit/#", "sensorkit/v1/+/alerts/#", true)]
    [InlineData("sensorkit/#", "sensorkit", true)]
    [InlineData("sensorkit/#", "#", false)]
    [InlineData("sensorkit/#", "+/v1/#", false)]
    [InlineData("sensorkit/v1/+/+/telemetry/#", "sensorkit/v1/m/+/telemetry/#", true)]
    [InlineData("sensorkit/v1/+/+/telemetry/#", "sensorkit/v1/#", false)]
    [InlineData("sensorkit/v1/+/+/status", "sensorkit/v1/+/+/status/#", false)]
    public void A_subscription_is_allowed_only_inside_a_readable_filter(string allowed, string filter, bool covered) =>
        Assert.Equal(covered, TopicFilters.Covers(allowed, filter));

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    internal static async Task<(string PasswordFile, string AclFile)> ExportForMosquittoAsync(string accountsFile)
    {
        string dir = TestDirectories.Create("mosquitto-accounts");
        string passwordFile = Path.Combine(dir, "passwd");
        string aclFile = Path.Combine(dir, "acl");
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await AccountsCommand.RunAsync(["accounts", "export", "--accounts-file", accountsFile, "--password-file", passwordFile, "--acl-file", aclFile],
            new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(), output, error);
        Assert.True(code == 0, error.ToString());
        // Mosquitto started as root reads its files as the mosquitto user.
        foreach (string d in new[] { dir, Path.GetDirectoryName(dir)!, Path.GetDirectoryName(Path.GetDirectoryName(dir))! })
        {
            File.SetUnixFileMode(d, File.GetUnixFileMode(d) | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        }

        File.SetUnixFileMode(passwordFile, File.GetUnixFileMode(passwordFile) | UnixFileMode.OtherRead);
        File.SetUnixFileMode(aclFile, File.GetUnixFileMode(aclFile) | UnixFileMode.OtherRead);
        return (passwordFile, aclFile);
    }

    internal static MqttClientOptions Options(int port, TestAccount? account, string clientId)
    {
        var b = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithTimeout(Timeout);
        if (account is not null)
        {
            b.WithCredentials(account.Name, account.Password);
        }

        return b.Build();
    }

    private static async Task<IMqttClient> ConnectAsync(int port, TestAccount? account, string clientId, CancellationToken ct)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        MqttClientConnectResult result = await client.ConnectAsync(Options(port, account, clientId), ct);
        Assert.True(result.ResultCode == MqttClientConnectResultCode.Success, $"{account?.Name ?? "anonymous"} as {clientId}: {result.ResultCode}");
        return client;
    }

    /// <summary>
    /// A message carrying <paramref name="marker"/>. On a node's own topics it is a valid telemetry window or status
    /// with the marker in a free-text field: the embedded broker's intake refuses (and never routes) anything else.
    /// </summary>
    private static MqttApplicationMessage Message(string topic, string marker, bool retain) => new MqttApplicationMessageBuilder()
        .WithTopic(topic).WithPayload(Payload(topic, marker)).WithRetainFlag(retain).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    private static string Payload(string topic, string marker)
    {
        if (Topics.TryParseTelemetry(topic, out TelemetryTopic t))
        {
            return $$"""{"schema":"sensorkit.telemetry.v1","site":"{{t.Site}}","node":"{{t.Node}}","sensor":"{{t.Sensor}}","quantity":"{{t.Quantity}}","unit":"{{marker}}","seq":1,"start":"{{DateTimeOffset.UtcNow.AddMinutes(-1):yyyy-MM-ddTHH:mm:ssZ}}","end":"{{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}}","count":1,"expected":1,"errors":0,"min":1,"max":1,"mean":1,"stddev":0,"first":1,"last":1,"quality":"good","flags":[],"backfill":false}""";
        }

        if (Topics.TryParseStatus(topic, out string site, out string node))
        {
            return $$"""{"schema":"sensorkit.status.v1","site":"{{site}}","node":"{{node}}","state":"online","time":"{{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}}","firmware":"{{marker}}"}""";
        }

        return marker;
    }

    private static byte[] Status(string node) =>
        Encoding.UTF8.GetBytes($$"""
            {"schema":"sensorkit.status.v1","site":"test","node":"{{node}}","state":"online","time":"2026-07-01T12:00:00Z",
             "location":{"lat":50.94,"lon":6.96},"sensors":[{"id":"bme280","type":"bme280","bus":1,"address":"0x76","health":"ok","consecutiveFailures":0}]}
            """);

    private static byte[] Hot(string node) =>
        Encoding.UTF8.GetBytes($$"""
            {"schema":"sensorkit.telemetry.v1","site":"test","node":"{{node}}","sensor":"bme280","quantity":"temperature","unit":"Cel",
             "seq":1,"start":"2026-07-01T12:00:00Z","end":"2026-07-01T12:00:10Z","count":10,"expected":10,"errors":0,
             "min":40,"max":40,"mean":40,"stddev":0,"first":40,"last":40,"quality":"good","flags":[],"backfill":false}
            """);
}
