using Microsoft.Extensions.Hosting;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using SensorKit.Gateway;
using SensorKit.Gateway.Broker.Accounts;
using SensorKit.Tests.Support;
using static SensorKit.Tests.Gateway.Sessions.SessionTests;

namespace SensorKit.Tests.Gateway.Sessions;

/// <summary>
/// What bounds the embedded broker's sessions, which live in its memory: the longest expiry it grants, how many it
/// keeps, whose they are, and that an expired one gives its memory back without its client returning.
/// </summary>
public sealed class EmbeddedSessionLimitTests
{
    [Fact]
    public async Task A_longer_expiry_than_the_limit_is_answered_with_the_limit_and_the_session_then_goes()
    {
        await using InteropBroker b = await InteropBroker.StartAsync(InteropBroker.Embedded, new() { ["Broker:Limits:MaxSessionExpiry"] = "00:00:02" });
        string id = "interop-capped";
        await using (WireClient client = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, sessionExpiry: 3600)))
        {
            // §3.2.2.3.2: the server tells the client the interval it uses instead.
            Assert.Equal(2u, client.ConnAck.SessionExpiryInterval);
            await client.SubscribeAsync(InteropBroker.Topic("capped"));
            await client.DisconnectAsync();
        }

        Assert.Contains(id, await b.Gateway!.SessionIdsAsync());
        // Its memory comes back without the client returning: the broker deletes it once the 2 s are over.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await b.Gateway.SessionIdsAsync()).Contains(id))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the expired session is still held after 10 s");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"gone after {clock.Elapsed}");

        await using WireClient back = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, cleanStart: false, sessionExpiry: 1));
        Assert.False(back.ConnAck.IsSessionPresent);
        // Asked for less than the limit: nothing to announce.
        Assert.Equal(0u, back.ConnAck.SessionExpiryInterval);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V500, (int)MqttConnectReasonCode.QuotaExceeded)]
    [InlineData(MqttProtocolVersion.V311, (int)MqttConnectReturnCode.ConnectionRefusedServerUnavailable)]
    public async Task A_session_beyond_the_limit_is_refused_and_others_still_connect(MqttProtocolVersion version, int refusal)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(InteropBroker.Embedded, new() { ["Broker:Limits:MaxSessions"] = "1" });
        bool v5 = version == MqttProtocolVersion.V500;
        // The gateway's own client keeps no session, so the one place is free.
        await using WireClient kept = await WireClient.ConnectAsync(b.Port, WireClient.Connect("interop-kept-1", cleanStart: v5, sessionExpiry: 60), version);
        Assert.Equal(MqttConnectReasonCode.Success, kept.ConnAck.ReasonCode);

        await using WireClient refused = await WireClient.ConnectAsync(b.Port, WireClient.Connect("interop-kept-2", cleanStart: v5, sessionExpiry: 60), version);
        Assert.Equal(refusal, v5 ? (int)refused.ConnAck.ReasonCode : (int)refused.ConnAck.ReturnCode);
        Assert.True(await refused.ClosedAsync());

        // A client that keeps no session is not counted, and the kept one may come back.
        await using WireClient passing = await WireClient.ConnectAsync(b.Port, WireClient.Connect("interop-passing", cleanStart: true), version);
        Assert.Equal(MqttConnectReasonCode.Success, passing.ConnAck.ReasonCode);
        await kept.DisconnectAsync();
        await using WireClient back = await WireClient.ConnectAsync(b.Port, WireClient.Connect("interop-kept-1", cleanStart: false, sessionExpiry: 60), version);
        Assert.True(back.ConnAck.IsSessionPresent);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_session_is_resumed_only_by_the_account_that_made_it(bool stillConnected)
    {
        await using InteropBroker b = await InteropBroker.StartAsync(InteropBroker.Embedded);
        string topic = InteropBroker.Topic("owner");
        string id = $"interop-ops-{stillConnected}".ToLowerInvariant();
        await using WireClient anonymous = await WireClient.ConnectAsync(b.Port, WireClient.Connect(id, sessionExpiry: 60));
        await anonymous.SubscribeAsync(topic);
        if (!stillConnected)
        {
            await anonymous.DisconnectAsync();
        }

        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.PublishAsync(topic, "for the anonymous session");
        }

        // The id is an account's now: that account starts afresh, and nothing queued for the anonymous client reaches it.
        TestAccount account = TestAccounts.Add(b.Port, id, AccountRole.Subscriber);
        await using WireClient owner = await WireClient.ConnectAsync(b.Port, WireClient.Connect(account.ClientId, cleanStart: false, sessionExpiry: 60, account: (account.Name, account.Password)));
        Assert.Equal(MqttConnectReasonCode.Success, owner.ConnAck.ReasonCode);
        Assert.False(owner.ConnAck.IsSessionPresent);
        if (stillConnected)
        {
            // Deleting its session ended the anonymous client's connection.
            Assert.True(await anonymous.ClosedAsync());
        }

        await owner.SubscribeAsync(topic);
        await using (WireClient publisher = await b.PublisherAsync())
        {
            await publisher.PublishAsync(topic, "marker");
        }

        Assert.Equal("marker", Text(await owner.NextAsync<MqttPublishPacket>()));
        Assert.Contains(id, await b.Gateway!.SessionIdsAsync());
        await owner.DisconnectAsync(sessionExpiry: 0);
    }

    [Theory]
    [InlineData("Broker:Limits:MaxSessionExpiry", "00:00:00", "Broker:Limits:MaxSessionExpiry: 00:00:00 is outside 00:00:01-365.00:00:00")]
    [InlineData("Broker:Limits:MaxSessions", "0", "Broker:Limits:MaxSessions: 0 is outside 1-1000000")]
    [InlineData("Broker:Limits:MaxInflightMessages", "65536", "Broker:Limits:MaxInflightMessages: 65536 is outside 1-65535")]
    [InlineData("Broker:Limits:MaxTopicAliases", "-1", "Broker:Limits:MaxTopicAliases: -1 is outside 0-65535")]
    public async Task A_session_limit_out_of_range_stops_the_gateway_naming_the_key(string key, string value, string expected)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config[key] = value;

        ConfigurationRun.AssertOutcome(await ConfigurationRun.GatewayAsync(config), $"invalid configuration: {expected}");
    }
}
