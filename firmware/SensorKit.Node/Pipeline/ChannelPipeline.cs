namespace SensorKit.Node.Pipeline;

/// <summary>
/// One channel from reading to aggregate: validity checks, stuck detection, the filter chain, and the
/// tumbling window. After each <see cref="Add"/>, <see cref="HasCurrent"/> and <see cref="Current"/>
/// tell derived quantities what this read gave. Allocation-free per reading.
/// </summary>
public sealed class ChannelPipeline
{
    /// <summary>
    /// Larger magnitudes are rejected as out of range: nothing we measure comes near, and beyond
    /// about 1e154 the square of a deviation would overflow the variance.
    /// </summary>
    public const double MaxMagnitude = 1e150;

    private readonly FilterChain _filters;
    private readonly double _rangeMin;
    private readonly double _rangeMax;
    private readonly int _stuckAfter;
    private readonly long _resetAfterTicks;

    private long _lastTicks = long.MinValue;
    private double _lastRaw = double.NaN;
    private int _repeats;
    private bool _hasPassed;

    /// <param name="id">The channel on the wire.</param>
    /// <param name="aggregator">The channel's tumbling window.</param>
    /// <param name="filters">The configured chain, in order.</param>
    /// <param name="rangeMin">The sensor's measuring range: readings outside are errors, flagged out of range.</param>
    /// <param name="rangeMax">Upper end of the measuring range.</param>
    /// <param name="stuckAfter">Identical readings in a row from which the channel counts as stuck; 0 turns it off.</param>
    /// <param name="sampleInterval">The schedule; after a gap of more than 3.5 intervals, or a clock step back, the filters start afresh.</param>
    public ChannelPipeline(
        ChannelId id,
        WindowAggregator aggregator,
        FilterChain? filters = null,
        double rangeMin = double.NegativeInfinity,
        double rangeMax = double.PositiveInfinity,
        int stuckAfter = 0,
        TimeSpan? sampleInterval = null)
    {
        Id = id;
        Aggregator = aggregator;
        _filters = filters ?? FilterChain.Empty;
        _rangeMin = Math.Max(rangeMin, -MaxMagnitude);
        _rangeMax = Math.Min(rangeMax, MaxMagnitude);
        _stuckAfter = stuckAfter;
        _resetAfterTicks = (long)((sampleInterval ?? aggregator.Window).Ticks * 3.5);
    }

    public ChannelId Id { get; }

    public WindowAggregator Aggregator { get; }

    /// <summary>False for a channel that is computed (derived quantities need it) but not published.</summary>
    public bool Publish { get; init; } = true;

    /// <summary>True when the last read gave this channel a usable value (passed, clamped, or held by a deadband).</summary>
    public bool HasCurrent { get; private set; }

    /// <summary>The channel's output for the last read, after the filters.</summary>
    public double Current { get; private set; }

    /// <summary>Feeds one reading; a window that closes goes to <paramref name="sink"/>.</summary>
    public void Add(long ticks, double raw, IAggregateSink sink)
    {
        if (Aggregator.Advance(ticks, out WindowAggregate closed) && Publish)
        {
            sink.Accept(Id, closed);
        }

        if (_lastTicks != long.MinValue && (ticks < _lastTicks || ticks - _lastTicks > _resetAfterTicks))
        {
            _filters.Reset();
            _repeats = 0;
            _hasPassed = false;
        }

        _lastTicks = ticks;
        HasCurrent = false;
        if (!double.IsFinite(raw))
        {
            // NaN or infinity is a read error, never averaged in.
            Aggregator.AddRejected(outOfRange: false);
            return;
        }

        if (raw < _rangeMin || raw > _rangeMax)
        {
            Aggregator.AddRejected(outOfRange: true);
            return;
        }

        if (_stuckAfter > 0)
        {
            // Exact equality on purpose: a live sensor's noise changes at least the last digit.
            _repeats = raw == _lastRaw ? _repeats + 1 : 1;
            _lastRaw = raw;
            if (_repeats >= _stuckAfter)
            {
                Aggregator.MarkStuck();
            }
        }

        Aggregator.AddRaw(raw);
        double value = raw;
        switch (_filters.Apply(ref value))
        {
            case FilterOutcome.Pass:
                Accept(ticks, value);
                break;
            case FilterOutcome.Clamped:
                Aggregator.MarkOutOfRange();
                Accept(ticks, value);
                break;
            case FilterOutcome.Suppressed:
                // The output stays what the deadband last let through.
                Aggregator.AddSuppressed(ticks);
                HasCurrent = _hasPassed;
                break;
            default:
                Aggregator.AddRejected(outOfRange: true);
                break;
        }
    }

    /// <summary>Counts a failed read (NACK, CRC, timeout) in its window.</summary>
    public void AddError(long ticks, IAggregateSink sink)
    {
        if (Aggregator.Advance(ticks, out WindowAggregate closed) && Publish)
        {
            sink.Accept(Id, closed);
        }

        HasCurrent = false;
        Aggregator.AddRejected(outOfRange: false);
    }

    /// <summary>Closes the window once <paramref name="ticks"/> is past its end, for a sensor that went quiet.</summary>
    public void Flush(long ticks, IAggregateSink sink)
    {
        if (Aggregator.Flush(new DateTimeOffset(ticks, TimeSpan.Zero), out WindowAggregate closed) && Publish)
        {
            sink.Accept(Id, closed);
        }
    }

    /// <summary>Marks the read as giving nothing for this channel, without counting an error (an input not available yet).</summary>
    internal void Skip() => HasCurrent = false;

    private void Accept(long ticks, double value)
    {
        Aggregator.AddValue(ticks, value);
        Current = value;
        HasCurrent = true;
        _hasPassed = true;
    }
}
