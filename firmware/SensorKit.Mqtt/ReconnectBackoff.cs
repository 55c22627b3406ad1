namespace SensorKit.Mqtt;

/// <summary>
/// How long to wait before the next connect attempt: <see cref="Min"/> doubled per failed attempt up to
/// <see cref="Max"/>, with equal jitter (half of it fixed, half random), so clients that lost the broker together
/// do not return in lockstep.
/// </summary>
public sealed class ReconnectBackoff
{
    /// <summary>Doublings counted at most; beyond them only <see cref="Max"/> caps the wait.</summary>
    private const int MaxDoublings = 20;

    private readonly Random _random;

    /// <param name="random">The jitter's source; <see cref="Random.Shared"/> unless a test fixes it.</param>
    public ReconnectBackoff(TimeSpan min, TimeSpan max, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(min, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(max, TimeSpan.Zero);
        Min = min;
        Max = max;
        _random = random ?? Random.Shared;
    }

    public TimeSpan Min { get; }

    public TimeSpan Max { get; }

    /// <summary>The longest wait after <paramref name="failures"/> failed attempts in a row (0 after the first).</summary>
    public TimeSpan Ceiling(int failures)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(failures);
        return TimeSpan.FromMilliseconds(CeilingMilliseconds(failures));
    }

    /// <summary>A wait between half of <see cref="Ceiling"/> and all of it.</summary>
    public TimeSpan Delay(int failures)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(failures);
        double cap = CeilingMilliseconds(failures);
        return TimeSpan.FromMilliseconds((cap / 2) + (_random.NextDouble() * cap / 2));
    }

    private double CeilingMilliseconds(int failures) =>
        Math.Min(Max.TotalMilliseconds, Min.TotalMilliseconds * Math.Pow(2, Math.Min(failures, MaxDoublings)));
}
