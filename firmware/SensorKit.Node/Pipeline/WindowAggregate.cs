using SensorKit.Protocol;

namespace SensorKit.Node.Pipeline;

/// <summary>The summary of one channel over one tumbling window: what leaves the pipeline.</summary>
public readonly record struct WindowAggregate(
    DateTimeOffset Start,
    DateTimeOffset End,
    int Count,
    int Expected,
    int Errors,
    double Min,
    double Max,
    double Mean,
    double StdDev,
    double First,
    double Last,
    QualityFlags Flags);

/// <summary>Where closed windows go: the output contract of the pipeline.</summary>
public interface IAggregateSink
{
    void Accept(ChannelId channel, in WindowAggregate aggregate);
}

/// <summary>Identifies a channel on the wire: sensor id, quantity and unit.</summary>
public sealed record ChannelId(string Sensor, string Quantity, string Unit);
