using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace SensorKit.Gateway.Storage.Group;

/// <summary>
/// A group member's view of the sites it holds: the fencing token of each, and the moment by its own monotonic clock
/// after which it must assume the lease is gone. That moment is taken from before the round that renewed the lease
/// was sent, so a member that was paused, or whose renewal is slow, stops publishing no later than the database lets
/// another member take the site.
/// </summary>
public sealed class LeaseOwnership(IOptions<GroupOptions> group, TimeProvider time) : ISiteOwnership
{
    private readonly GroupOptions _options = group.Value;
    private readonly ConcurrentDictionary<string, (long Token, long Until)> _held = new(StringComparer.Ordinal);
    private readonly Channel<(string Site, string Reason)> _lost = Channel.CreateUnbounded<(string, string)>();

    public string? Member => _options.Member;

    /// <summary>Sites the store gave up on (a refused write, an unreachable database): the group loop stops serving them.</summary>
    public ChannelReader<(string Site, string Reason)> LostSites => _lost.Reader;

    public IReadOnlyCollection<string> Sites => [.. _held.Keys];

    public bool TryGetToken(string site, out long token)
    {
        token = 0;
        if (!_held.TryGetValue(site, out (long Token, long Until) lease))
        {
            return false;
        }

        if (time.GetTimestamp() >= lease.Until)
        {
            // Late by this member's own clock (a pause, a slow round): whatever was refused meanwhile (a publish, an
            // acknowledgement) is only sent again when the site is taken anew, so it is lost now, not merely late.
            Lost(site, "its lease ran out by this gateway's clock");
            return false;
        }

        token = lease.Token;
        return true;
    }

    public void Lost(string site, string reason)
    {
        if (_held.TryRemove(site, out _))
        {
            _lost.Writer.TryWrite((site, reason));
        }
    }

    /// <summary>Records a lease the round just renewed or took; <paramref name="roundStarted"/> is the timestamp from before the round.</summary>
    internal void Hold(string site, long token, long roundStarted) =>
        _held[site] = (token, roundStarted + (long)(_options.LeaseTime.TotalSeconds * time.TimestampFrequency));

    /// <summary>Forgets a site: handed over, or found lost by the group loop.</summary>
    internal bool Drop(string site) => _held.TryRemove(site, out _);

    /// <summary>True while the site is held by this member's own clock; the token may still be refused by the store.</summary>
    internal bool Holds(string site) => TryGetToken(site, out _);
}
