namespace SensorKit.Node.Pipeline;

/// <summary>
/// The pipeline of one sensor: its measured channels, then the quantities derived from them, each
/// into its own window. One <see cref="Add"/> per read; allocation-free in steady state.
/// </summary>
public sealed class SensorPipeline
{
    private readonly ChannelPipeline[] _measured;
    private readonly DerivedQuantity[] _derived;
    private readonly ChannelPipeline[] _derivedChannels;
    private readonly ChannelPipeline[] _all;

    /// <param name="measured">One per value the adapter reads, in the adapter's order.</param>
    /// <param name="derived">Derived quantities with their channels, in the order they are computed (inputs first).</param>
    public SensorPipeline(IEnumerable<ChannelPipeline> measured, IEnumerable<(DerivedQuantity Quantity, ChannelPipeline Channel)> derived)
    {
        _measured = measured.ToArray();
        (DerivedQuantity Quantity, ChannelPipeline Channel)[] d = derived.ToArray();
        _derived = d.Select(x => x.Quantity).ToArray();
        _derivedChannels = d.Select(x => x.Channel).ToArray();
        _all = _measured.Concat(_derivedChannels).ToArray();
        Channels = _all;
    }

    /// <summary>Every channel, measured first, then derived.</summary>
    public IReadOnlyList<ChannelPipeline> Channels { get; }

    public int MeasuredCount => _measured.Length;

    /// <summary>One successful read: <paramref name="values"/> in the adapter's channel order.</summary>
    public void Add(DateTimeOffset time, ReadOnlySpan<double> values, IAggregateSink sink)
    {
        if (values.Length != _measured.Length)
        {
            throw new ArgumentException($"expected {_measured.Length} values, got {values.Length}", nameof(values));
        }

        long ticks = time.UtcTicks;
        for (int i = 0; i < _measured.Length; i++)
        {
            _measured[i].Add(ticks, values[i], sink);
        }

        for (int i = 0; i < _derived.Length; i++)
        {
            ChannelPipeline channel = _derivedChannels[i];
            switch (_derived[i].Compute(ticks, out double value))
            {
                case DerivedOutcome.Value:
                    channel.Add(ticks, value, sink);
                    break;
                case DerivedOutcome.Error:
                    channel.AddError(ticks, sink);
                    break;
                default:
                    channel.Skip();
                    channel.Flush(ticks, sink);
                    break;
            }
        }
    }

    /// <summary>A failed read: an error in every channel's window.</summary>
    public void AddError(DateTimeOffset time, IAggregateSink sink)
    {
        long ticks = time.UtcTicks;
        foreach (ChannelPipeline channel in _all)
        {
            channel.AddError(ticks, sink);
        }
    }

    /// <summary>Closes every window that <paramref name="now"/> is past, for a sensor in backoff.</summary>
    public void Flush(DateTimeOffset now, IAggregateSink sink)
    {
        long ticks = now.UtcTicks;
        foreach (ChannelPipeline channel in _all)
        {
            channel.Flush(ticks, sink);
        }
    }
}
