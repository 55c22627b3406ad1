using Npgsql;
using SensorKit.Gateway.Storage.Group;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Group;

/// <summary>The lease rounds against a real PostgreSQL: who gets a site, when it may move, and that its token only grows.</summary>
public sealed class SiteLeasesTests(PostgresServer postgres)
{
    private static GroupOptions Options(string member, TimeSpan? lease = null) => new() { Member = member, Sites = ["s1", "s2", "s3"], LeaseTime = lease ?? TimeSpan.FromSeconds(30), RenewInterval = TimeSpan.FromSeconds(1) };

    [Fact]
    public async Task A_site_is_taken_once_and_moves_only_when_released_or_expired_with_a_newer_token()
    {
        await using NpgsqlDataSource db = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var a = new SiteLeases(db, Options("a"));
        var b = new SiteLeases(db, Options("b", TimeSpan.FromSeconds(1)));
        await a.EnsureSchemaAsync(TestContext.Current.CancellationToken);

        LeaseRound first = await a.RoundAsync([], ["s1", "s2"], TestContext.Current.CancellationToken);
        Assert.Equal(["s1", "s2"], first.Held.Select(h => h.Site).Order());
        Assert.All(first.Held, h => Assert.True(h.Acquired && h.Token == 1));

        // A live holder's site is never taken: b gets only the free one, and both are members now.
        LeaseRound taken = await b.RoundAsync([], ["s1", "s3"], TestContext.Current.CancellationToken);
        Assert.Equal(["s3"], taken.Held.Select(h => h.Site));
        Assert.Equal(["a", "b"], taken.Members);

        // Released after a hand-over: b may take it at once, with the next token.
        await a.ReleaseAsync("s1", 1, TestContext.Current.CancellationToken);
        LeaseRound moved = await b.RoundAsync(["s3"], ["s1"], TestContext.Current.CancellationToken);
        Assert.Contains(new HeldLease("s1", 2, Acquired: true), moved.Held);
        Assert.Contains(new HeldLease("s3", 1, Acquired: false), moved.Held);

        // a no longer renews s1 (its row is b's); a stale release changes nothing.
        LeaseRound renewal = await a.RoundAsync(["s1", "s2"], [], TestContext.Current.CancellationToken);
        Assert.Equal(["s2"], renewal.Held.Select(h => h.Site));
        await a.ReleaseAsync("s1", 1, TestContext.Current.CancellationToken);
        Assert.Equal(("b", 2L), await HolderAsync(db, "s1"));

        // b's 1-second leases run out without renewal; a takes s3 over with a newer token.
        await Wait.UntilAsync(async () => (await a.RoundAsync(["s2"], ["s3"], TestContext.Current.CancellationToken)).Held.Any(h => h.Site == "s3"), TimeSpan.FromSeconds(20), "a takes the expired s3");
        Assert.Equal(("a", 2L), await HolderAsync(db, "s3"));
        LeaseRound alone = await a.RoundAsync(["s2", "s3"], [], TestContext.Current.CancellationToken);
        Assert.Equal(["a"], alone.Members);
    }

    [Fact]
    public async Task A_member_that_lost_its_local_state_takes_its_own_site_again_with_a_new_token()
    {
        await using NpgsqlDataSource db = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync());
        var a = new SiteLeases(db, Options("a"));
        await a.EnsureSchemaAsync(TestContext.Current.CancellationToken);
        await a.RoundAsync([], ["s1"], TestContext.Current.CancellationToken);

        LeaseRound again = await a.RoundAsync([], ["s1"], TestContext.Current.CancellationToken);
        Assert.Equal([new HeldLease("s1", 2, Acquired: true)], again.Held);
    }

    [Fact]
    public void Rendezvous_hashing_agrees_everywhere_and_moves_only_the_sites_a_new_member_gains()
    {
        string[] sites = [.. Enumerable.Range(1, 300).Select(i => $"site{i}")];
        Dictionary<string, string> two = sites.ToDictionary(s => s, s => SiteLeases.OwnerOf(s, ["g1", "g2"]));
        Dictionary<string, string> three = sites.ToDictionary(s => s, s => SiteLeases.OwnerOf(s, ["g1", "g2", "g3"]));

        Assert.All(sites, s => Assert.True(three[s] == two[s] || three[s] == "g3", $"{s} moved from {two[s]} to {three[s]}"));
        int gained = sites.Count(s => three[s] == "g3");
        Assert.InRange(gained, 60, 140);
        Assert.All(sites, s => Assert.Equal(SiteLeases.OwnerOf(s, ["g2", "g1"]), two[s]));
    }

    private static async Task<(string, long)> HolderAsync(NpgsqlDataSource db, string site)
    {
        await using NpgsqlCommand cmd = db.CreateCommand("SELECT holder, token FROM site_leases WHERE site = @s");
        cmd.Parameters.AddWithValue("s", site);
        await using NpgsqlDataReader r = await cmd.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await r.ReadAsync(TestContext.Current.CancellationToken));
        return (r.GetString(0), r.GetInt64(1));
    }
}
