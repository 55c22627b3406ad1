using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Group;

/// <summary>
/// Three gateway processes share six sites through leases in PostgreSQL and per-site sessions on Mosquitto. A member
/// is killed, frozen, joined, and PostgreSQL is restarted; across every run each alert is raised once, its revisions
/// run on without a gap or a repeat, and the CAP identifiers stay unique.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class GatewayGroupTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_killed_members_alert_continues_on_the_member_that_takes_its_site_over()
    {
        await using GroupCluster group = await GroupCluster.StartAsync(await postgres.CreateDatabaseAsync(), 6, "g1", "g2", "g3");
        var holders = await RaiseAtS1Async(group, "g1", "g2", "g3");

        string victim = holders["s1"].Holder;
        await group.Members[victim].KillAsync();
        string[] alive = [.. group.Members.Keys.Where(m => m != victim)];
        var after = await group.WaitAllServedAsync(alive);
        Assert.True(after["s1"].Token > holders["s1"].Token, "the new holder's fencing token is newer");

        // The next window goes to the site's session, which the broker kept while nobody held it.
        await group.TelemetryAsync("s1", "n1", 45);
        MqttProbe.Received updated = await group.WaitForEventAsync("s1", AlertState.Updated, 2);
        await group.TelemetryAsync("s1", "n1", 20);
        await group.WaitForEventAsync("s1", AlertState.Cleared, 3);

        group.AssertConsistent();
        Assert.True(ProtocolJson.TryReadAlert(updated.Payload, out AlertMessage? u, out _));
        Assert.Equal(group.Events("s1")[0].AlertId, u.AlertId);
        Assert.Contains(group.Events("s1")[0].CapIdentifier!, group.Alerts.All.First(m => m.Topic.Contains("/alerts/cap/", StringComparison.Ordinal) && m.Text.Contains(u.CapIdentifier!, StringComparison.Ordinal) && m.Text.Contains("<msgType>Update</msgType>", StringComparison.Ordinal)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_frozen_member_resumed_after_its_lease_expired_publishes_nothing_for_the_site()
    {
        await using GroupCluster group = await GroupCluster.StartAsync(await postgres.CreateDatabaseAsync(), 6, "g1", "g2", "g3");
        var holders = await RaiseAtS1Async(group, "g1", "g2", "g3");

        string frozen = holders["s1"].Holder;
        ExecutableProcess paused = group.Members[frozen];
        await paused.PauseAsync();
        // Sent while it is frozen: the broker hands it to the frozen member's socket, unacknowledged.
        await group.TelemetryAsync("s1", "n1", 45);
        string[] alive = [.. group.Members.Keys.Where(m => m != frozen)];
        await group.WaitAllServedAsync(alive);
        await group.WaitForEventAsync("s1", AlertState.Updated, 2);

        int before = group.Alerts.All.Count;
        await paused.ResumeAsync();
        await Wait.UntilAsync(() => paused.Output.Contains("Group: let go of site s1", StringComparison.Ordinal), GroupCluster.Timeout, "the resumed member lets go of s1", group.Logs);

        // The resumed member evaluated what it had read before the freeze: its step is refused, nothing goes out.
        await group.TelemetryAsync("s1", "n1", 20);
        await group.WaitForEventAsync("s1", AlertState.Cleared, 3);
        group.AssertConsistent();
        Assert.Equal(3, group.Events("s1").Select(e => e.Revision).Distinct().Count());
        Assert.True(group.Alerts.All.Count > before, "the clear went out");
    }

    [Fact]
    public async Task A_joining_member_takes_its_share_without_a_lost_or_doubled_step()
    {
        await using GroupCluster group = await GroupCluster.StartAsync(await postgres.CreateDatabaseAsync(), 6, "g1", "g2");
        await group.WaitAllServedAsync("g1", "g2");
        foreach (string site in group.Sites)
        {
            await group.StatusAsync(site, "n1");
            await group.TelemetryAsync(site, "n1", 35);
        }

        foreach (string site in group.Sites)
        {
            await group.WaitForEventAsync(site, AlertState.Raised, 1);
        }

        group.StartMember("g3");
        var holders = await group.WaitAllServedAsync("g1", "g2", "g3");
        Assert.Contains(holders.Values, h => h.Holder == "g3");
        Assert.Contains(holders.Values, h => h.Token > 1);

        foreach (string site in group.Sites)
        {
            await group.TelemetryAsync(site, "n1", 45);
        }

        foreach (string site in group.Sites)
        {
            await group.WaitForEventAsync(site, AlertState.Updated, 2);
        }

        group.AssertConsistent();
    }

    [Fact]
    public async Task When_PostgreSQL_restarts_the_members_wait_and_alerting_resumes_without_a_lost_step()
    {
        await using PostgresServer own = await PostgresServer.StartNewAsync();
        await using GroupCluster group = await GroupCluster.StartAsync(await own.CreateDatabaseAsync(), 4, "g1", "g2", "g3");
        await RaiseAtS1Async(group, "g1", "g2", "g3");

        await own.StopAsync();
        // Taken while the database is away: no member can store the step, so none publishes it yet.
        await group.TelemetryAsync("s1", "n1", 45);
        await own.StartAsync();

        await group.WaitForEventAsync("s1", AlertState.Updated, 2);
        await group.WaitAllServedAsync("g1", "g2", "g3");
        await group.TelemetryAsync("s1", "n1", 20);
        await group.WaitForEventAsync("s1", AlertState.Cleared, 3);
        group.AssertConsistent();
    }

    /// <summary>Once every site is served: node n1 of site s1 reports, and its first window raises the flood alert.</summary>
    private static async Task<Dictionary<string, (string Holder, long Token)>> RaiseAtS1Async(GroupCluster group, params string[] members)
    {
        var holders = await group.WaitAllServedAsync(members);
        await group.StatusAsync("s1", "n1");
        await group.TelemetryAsync("s1", "n1", 35);
        await group.WaitForEventAsync("s1", AlertState.Raised, 1);
        return holders;
    }
}
