using Microsoft.Extensions.Time.Testing;
using SensorKit.Mqtt;

namespace SensorKit.Tests.Mqtt;

/// <summary>The order in which the connection loop tries an ordered list of brokers, and when it looks back at the first.</summary>
public sealed class BrokerRotationTests
{
    private static readonly TimeSpan PreferFirstAfter = TimeSpan.FromMinutes(5);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Failures_go_down_the_list_and_a_round_of_them_asks_for_the_backoff_then_starts_at_the_first()
    {
        var rotation = new BrokerRotation(3, PreferFirstAfter, _clock);
        var tried = new List<int>();
        var backoffs = new List<int>();
        for (int attempt = 0; attempt < 7; attempt++)
        {
            tried.Add(rotation.Current);
            if (rotation.Failed())
            {
                backoffs.Add(attempt);
            }
        }

        Assert.Equal([0, 1, 2, 0, 1, 2, 0], tried);
        Assert.Equal([2, 5], backoffs);
    }

    [Fact]
    public void A_lost_connection_goes_on_to_the_next_broker_at_once_and_counts_as_that_brokers_try()
    {
        var rotation = new BrokerRotation(3, PreferFirstAfter, _clock);
        rotation.Connected();
        rotation.Ended();
        Assert.Equal(1, rotation.Current);

        // Lost the first: the second and the third are tried, then the loop backs off and starts at the first again.
        Assert.False(rotation.Failed());
        Assert.Equal(2, rotation.Current);
        Assert.True(rotation.Failed());
        Assert.Equal(0, rotation.Current);

        // Lost the last: the next one is the first, and the round ends after the one in the middle.
        Assert.False(rotation.Failed());
        Assert.False(rotation.Failed());
        rotation.Connected();
        rotation.Ended();
        Assert.Equal(0, rotation.Current);
        Assert.False(rotation.Failed());
        Assert.True(rotation.Failed());
    }

    [Fact]
    public void One_broker_is_tried_again_at_once_after_a_loss_and_then_backs_off_after_each_failure()
    {
        var rotation = new BrokerRotation(1, PreferFirstAfter, _clock);
        rotation.Connected();
        Assert.Null(rotation.ReturnAt);
        rotation.Ended();

        Assert.Equal(0, rotation.Current);
        Assert.True(rotation.Failed());
        Assert.True(rotation.Failed());
        Assert.Equal(0, rotation.Current);
    }

    [Fact]
    public void On_a_later_broker_the_first_is_due_after_the_interval_again_while_it_stays_silent_and_first_after_a_return()
    {
        var rotation = new BrokerRotation(2, PreferFirstAfter, _clock);
        rotation.Connected();
        Assert.Null(rotation.ReturnAt);

        rotation.Ended();
        _clock.Advance(TimeSpan.FromSeconds(3));
        rotation.Connected();
        Assert.Equal(1, rotation.Current);
        Assert.Equal(_clock.GetUtcNow() + PreferFirstAfter, rotation.ReturnAt);

        // Due, and the first does not answer: due again one interval later.
        _clock.Advance(PreferFirstAfter);
        rotation.Postpone();
        Assert.Equal(_clock.GetUtcNow() + PreferFirstAfter, rotation.ReturnAt);

        // It answers: the clean disconnect sends the next attempt to the first.
        rotation.ReturnToFirst();
        rotation.Ended();
        Assert.Equal(0, rotation.Current);
        Assert.Null(rotation.ReturnAt);

        // Refused there after all: straight back to the second, no backoff, and the interval starts over.
        Assert.False(rotation.Failed());
        Assert.Equal(1, rotation.Current);
        rotation.Connected();
        Assert.Equal(_clock.GetUtcNow() + PreferFirstAfter, rotation.ReturnAt);
    }

    [Fact]
    public void Zero_never_looks_back()
    {
        var rotation = new BrokerRotation(2, TimeSpan.Zero, _clock);
        rotation.Ended();
        rotation.Connected();

        Assert.Equal(1, rotation.Current);
        Assert.Null(rotation.ReturnAt);
    }
}
