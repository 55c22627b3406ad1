using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using SensorKit.Gateway.History;
using SensorKit.Protocol;

namespace SensorKit.Benchmarks;

/// <summary>
/// What the history costs per window: the journal append on the ingest path, and the batch write of the background
/// loop (10,000 windows of 100 channels per transaction, the default batch, rollups merged, WAL with synchronous=FULL).
/// </summary>
[MemoryDiagnoser]
public class HistoryWriteBenchmarks : IDisposable
{
    private const int Batch = 10_000;
    private string _dir = null!;
    private HistoryJournal _journal = null!;
    private SqliteTelemetryHistory _store = null!;
    private TelemetryMessage[] _windows = [];
    private DateTimeOffset _end;
    private long _seq;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("sensorkit-bench-history-").FullName;
        _journal = HistoryJournal.Open(Path.Combine(_dir, HistoryJournal.FolderName), long.MaxValue, Batch);
        _store = new SqliteTelemetryHistory(Path.Combine(_dir, SqliteTelemetryHistory.FileName), new HistoryOptions(), TimeProvider.System, NullLogger<SqliteTelemetryHistory>.Instance);
        _store.Open();
        _end = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddDays(-20).ToUnixTimeSeconds() / 60 * 60);
        _windows = new TelemetryMessage[Batch];
        Next();
    }

    /// <summary>One window into the journal: encode, CRC-32, one pwrite. Per window.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void JournalAppend()
    {
        foreach (ref readonly TelemetryMessage m in _windows.AsSpan())
        {
            _journal.TryAppend(m);
        }

        // Segments rotate as in the gateway, so the file stays at its usual size.
        _journal.RotateIfFull();
        while (_journal.Read(_windows) > 0)
        {
        }

        _journal.Commit();
        Next();
    }

    /// <summary>10,000 new windows of 100 channels in one transaction with their rollups. Per window.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public HistoryAppendResult StoreAppend()
    {
        HistoryAppendResult r = _store.Append(_windows);
        Next();
        return r;
    }

    /// <summary>The next 100 minutes of 100 channels.</summary>
    private void Next()
    {
        for (int i = 0; i < Batch; i++)
        {
            if (i % 100 == 0)
            {
                _end = _end.AddMinutes(1);
            }

            double v = 20 + (i % 7);
            _windows[i] = new TelemetryMessage
            {
                Site = "bench",
                Node = "n0",
                Sensor = $"s{i % 100}",
                Quantity = Quantities.Temperature,
                Unit = Units.Celsius,
                Sequence = ++_seq,
                WindowStart = _end.AddMinutes(-1),
                WindowEnd = _end,
                Count = 6,
                Expected = 6,
                Min = v - 1,
                Max = v + 1,
                Mean = v,
                StdDev = 0.4,
                First = v,
                Last = v,
            };
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _journal?.Dispose();
        _store?.Dispose();
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }

        GC.SuppressFinalize(this);
    }
}
