using BenchmarkDotNet.Attributes;
using SensorKit.Protocol;
using SensorKit.Tests.Protocol;

namespace SensorKit.Benchmarks;

/// <summary>Serialising one telemetry aggregate into the reusable buffer (PayloadBuffer, Utf8JsonWriter).</summary>
[MemoryDiagnoser]
public class PayloadBenchmarks : IDisposable
{
    private readonly PayloadBuffer _buffer = new();
    // A plain window with the trend, raw mean and calibration a filtered channel adds.
    private readonly TelemetryMessage _message = Samples.Window() with { Sequence = 4711, RatePerHour = 11.4, RawMean = 31.9, Calibrated = true };

    [Benchmark]
    public int SerialiseTelemetry() => _buffer.Telemetry(_message).Length;

    public void Dispose()
    {
        _buffer.Dispose();
        GC.SuppressFinalize(this);
    }
}
