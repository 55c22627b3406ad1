namespace SensorKit.Mqtt;

/// <summary>
/// Which broker of an ordered list (the first is the preferred one) <see cref="MqttConnectionLoop"/> tries next.
/// A failed attempt or a lost connection moves on to the next broker at once; once every broker has failed in a row
/// (a round; a lost connection counts as its broker's try), the loop backs off and starts again at the first.
/// Connected to a later broker, <see cref="ReturnAt"/> says when to look whether the first one is back.
/// With one broker this is the plain reconnect loop: try, back off, try again.
/// </summary>
public sealed class BrokerRotation
{
    private readonly TimeSpan _preferFirstAfter;
    private readonly TimeProvider _time;
    private int _current;
    private int _failedInRound;
    private bool _returning;
    private long _returnAtTicks;

    /// <param name="count">How many brokers the list holds.</param>
    /// <param name="preferFirstAfter">On a later broker: how long until the first is tried again; zero: never.</param>
    public BrokerRotation(int count, TimeSpan preferFirstAfter, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(preferFirstAfter, TimeSpan.Zero);
        Count = count;
        _preferFirstAfter = preferFirstAfter;
        _time = time;
    }

    public int Count { get; }

    /// <summary>The broker (index into the list) the next attempt goes to, or the one connected to.</summary>
    public int Current => Volatile.Read(ref _current);

    /// <summary>Connected to a later broker: when to look whether the first is back; null on the first, or when never.</summary>
    public DateTimeOffset? ReturnAt
    {
        get => Volatile.Read(ref _returnAtTicks) is var ticks and not 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
        private set => Volatile.Write(ref _returnAtTicks, value?.UtcTicks ?? 0);
    }

    /// <summary>An attempt on <see cref="Current"/> failed: moves on. True when that ended a round: back off now, then start at the first.</summary>
    public bool Failed()
    {
        ReturnAt = null;
        if (++_failedInRound >= Count)
        {
            _failedInRound = 0;
            Volatile.Write(ref _current, 0);
            return true;
        }

        Volatile.Write(ref _current, (_current + 1) % Count);
        return false;
    }

    /// <summary>Connected to <see cref="Current"/>: a new round starts with the next failure.</summary>
    public void Connected()
    {
        _failedInRound = 0;
        _returning = false;
        ReturnAt = NextReturn();
    }

    /// <summary>
    /// The connection to <see cref="Current"/> ended. After <see cref="ReturnToFirst"/> the next attempt goes to the
    /// first broker; otherwise the broker just lost counts as tried, and the next attempt goes to the next one at once.
    /// </summary>
    public void Ended()
    {
        if (_returning)
        {
            _returning = false;
            _failedInRound = 0;
            ReturnAt = null;
            Volatile.Write(ref _current, 0);
            return;
        }

        // With one broker this ends the round; the loop still tries once at once after a loss, as it always did.
        Failed();
    }

    /// <summary>The caller is about to leave a later broker on purpose (a clean disconnect) for the first one.</summary>
    public void ReturnToFirst() => _returning = true;

    /// <summary>The first broker is not back yet: look again after another interval.</summary>
    public void Postpone() => ReturnAt = NextReturn();

    private DateTimeOffset? NextReturn() => _current > 0 && _preferFirstAfter > TimeSpan.Zero ? _time.GetUtcNow() + _preferFirstAfter : null;
}
