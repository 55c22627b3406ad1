using BenchmarkDotNet.Attributes;
using SensorKit.Protocol;

namespace SensorKit.Benchmarks;

/// <summary>Serialising one telemetry aggregate into the reusable buffer (PayloadBuffer, Utf8JsonWriter).</summary>
[MemoryDiagnoser]
public class PayloadBenchmarks : IDisposable
{
    private readonly PayloadBuffer _buffer = new();
    private readonly TelemetryMessage _message = new()
    {
        Site = "rhine-cologne",
        Node = "node-1",
        Sensor = "bme280",
        Quantity = Quantities.Temperature,
        Unit = Units.Celsius,
        Sequence = 4711,
        WindowStart = new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero),
        WindowEnd = new DateTimeOffset(2026, 7, 1, 12, 1, 0, TimeSpan.Zero),
        Count = 6,
        Expected = 6,
        Min = 31.42,
        Max = 31.61,
        Mean = 31.5,
        StdDev = 0.07,
        First = 31.42,
        Last = 31.61,
        RatePerHour = 11.4,
        RawMean = 31.9,
        Calibrated = true,
    };

    [Benchmark]
    public int SerialiseTelemetry() => _buffer.Telemetry(_message).Length;

    public void Dispose()
    {
        _buffer.Dispose();
        GC.SuppressFinalize(this);
    }
}
