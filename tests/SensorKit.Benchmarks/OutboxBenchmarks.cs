using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using SensorKit.Node.Configuration;
using SensorKit.Node.Publishing;
using SensorKit.Protocol;
using SensorKit.Tests.Protocol;

namespace SensorKit.Benchmarks;

/// <summary>
/// Storing one telemetry aggregate in the durable outbox (serialise, frame, CRC, write, and the
/// fsync its policy asks for), then acknowledging it as the broker's PUBACK would: the steady-state
/// cost per record. The folder is a temp folder on whatever disk runs the benchmark.
/// </summary>
[MemoryDiagnoser]
public class OutboxBenchmarks : IDisposable
{
    private readonly PayloadBuffer _buffer = new();
    private readonly TelemetryMessage _message = Samples.Window();

    private const string Topic = "sensorkit/v1/rhine-cologne/node-1/telemetry/bme280/temperature";
    private string _directory = null!;
    private DurableOutbox _outbox = null!;

    [Params(FsyncPolicy.EveryRecord, FsyncPolicy.Interval, FsyncPolicy.OperatingSystem)]
    public FsyncPolicy Fsync { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("sensorkit-outbox-bench-").FullName;
        _outbox = DurableOutbox.Open(new OutboxOptions { Directory = _directory, Fsync = Fsync }, TimeProvider.System, NullLogger.Instance);
    }

    [Benchmark]
    public long AppendAndAcknowledge()
    {
        _outbox.TryAppend(OutboxKind.Telemetry, Topic, retain: true, this, static (long seq, in OutboxBenchmarks b) => b._buffer.Telemetry(b._message with { Sequence = seq }), out long sequence);
        _outbox.Acknowledge(sequence);
        return sequence;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _outbox.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    public void Dispose()
    {
        _buffer.Dispose();
        GC.SuppressFinalize(this);
    }
}
