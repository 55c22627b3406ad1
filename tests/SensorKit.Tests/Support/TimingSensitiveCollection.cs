namespace SensorKit.Tests.Support;

/// <summary>
/// End-to-end tests that count every message across outages and kill -9 on real time: run on their own, after the
/// parallel ones, so the rest of the suite competing for the two cores cannot starve their brokers and probes.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitiveCollection
{
    public const string Name = "timing-sensitive end to end";
}
