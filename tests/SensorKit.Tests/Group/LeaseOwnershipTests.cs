using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SensorKit.Gateway.Storage.Group;

namespace SensorKit.Tests.Group;

/// <summary>A member's own view of its leases: valid until the lease time from before the round that renewed them, then lost.</summary>
public sealed class LeaseOwnershipTests
{
    [Fact]
    public void A_lease_is_valid_until_its_time_from_the_round_start_then_the_site_is_reported_lost_once()
    {
        var clock = new FakeTimeProvider();
        var ownership = new LeaseOwnership(Options.Create(new GroupOptions { Member = "g1", LeaseTime = TimeSpan.FromSeconds(9) }), clock);
        long roundStarted = clock.GetTimestamp();
        clock.Advance(TimeSpan.FromSeconds(2));
        ownership.Hold("s1", 7, roundStarted);

        Assert.True(ownership.TryGetToken("s1", out long token));
        Assert.Equal(7, token);
        Assert.False(ownership.TryGetToken("s2", out _));

        // 9 s after the round started, not after the answer came: a slow round shortens the lease, never lengthens it.
        clock.Advance(TimeSpan.FromSeconds(7));
        Assert.False(ownership.TryGetToken("s1", out _));
        Assert.False(ownership.TryGetToken("s1", out _));
        Assert.True(ownership.LostSites.TryRead(out (string Site, string Reason) lost));
        Assert.Equal("s1", lost.Site);
        Assert.False(ownership.LostSites.TryRead(out _));
    }

    [Fact]
    public void A_site_the_store_refused_is_reported_lost_and_no_longer_held()
    {
        var clock = new FakeTimeProvider();
        var ownership = new LeaseOwnership(Options.Create(new GroupOptions { Member = "g1" }), clock);
        ownership.Hold("s1", 3, clock.GetTimestamp());

        ownership.Lost("s1", "a newer token");
        ownership.Lost("s1", "a newer token");

        Assert.False(ownership.TryGetToken("s1", out _));
        Assert.True(ownership.LostSites.TryRead(out (string Site, string Reason) lost));
        Assert.Equal(("s1", "a newer token"), lost);
        Assert.False(ownership.LostSites.TryRead(out _));
    }
}
