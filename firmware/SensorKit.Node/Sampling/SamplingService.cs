using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Sensors;

namespace SensorKit.Node.Sampling;

/// <summary>
/// Reads every sensor on its own drift-free schedule (<see cref="PeriodicTimer"/> on the injected
/// <see cref="TimeProvider"/>), one read at a time per I2C bus, and feeds the pipeline.
/// A sensor that fails is retried with backoff and re-opened from scratch, so a chip that was
/// unplugged and comes back is picked up without a restart; it never stops the other sensors.
/// </summary>
public sealed partial class SamplingService(
    SensorRegistry registry,
    II2cBusProvider buses,
    IAggregateSink sink,
    TimeProvider time,
    ILogger<SamplingService> logger) : BackgroundService
{
    /// <summary>Longest wait between two attempts on a failed sensor.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(2);

    private readonly Dictionary<int, SemaphoreSlim> _busLocks = registry.Slots
        .Select(s => s.Bus)
        .Distinct()
        .ToDictionary(b => b, _ => new SemaphoreSlim(1, 1));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(registry.Slots.Select(slot => RunAsync(slot, stoppingToken)));

    private async Task RunAsync(SensorSlot slot, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(slot.Interval, time);
        try
        {
            do
            {
                await SampleOnceAsync(slot, ct);
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutdown.
        }
        finally
        {
            Close(slot);
        }
    }

    /// <summary>One scheduled tick of one sensor. Internal so tests can drive it on fake time.</summary>
    internal async Task SampleOnceAsync(SensorSlot slot, CancellationToken ct)
    {
        DateTimeOffset now = time.GetUtcNow();
        if (now < slot.NextAttempt)
        {
            Flush(slot, now);
            return;
        }

        string? error = null;
        SemaphoreSlim busLock = _busLocks[slot.Bus];
        await busLock.WaitAsync(ct);
        try
        {
            slot.Adapter ??= Open(slot);
            slot.Adapter.Read(slot.Values);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Any driver failure, expected (NACK, CRC, timeout) or not, is this sensor's problem only.
            error = $"{e.GetType().Name}: {e.Message}";
        }
        finally
        {
            busLock.Release();
        }

        if (error is null)
        {
            slot.Pipeline.Add(now, slot.Values, sink);

            if (slot.Succeeded())
            {
                LogRecovered(slot.Id, slot.Bus, slot.Address);
                registry.OnHealthChanged();
            }

            return;
        }

        slot.Pipeline.AddError(now, sink);

        bool changed = slot.Failed(error);
        if (slot.Health == Protocol.SensorHealth.Failed)
        {
            // Re-open from scratch next time: a chip that lost power has lost its configuration too.
            Close(slot);
            slot.NextAttempt = now + slot.Backoff(MaxBackoff);
        }

        if (changed)
        {
            LogHealth(slot.Id, slot.Bus, slot.Address, Protocol.ProtocolJson.Name(slot.Health), error);
            registry.OnHealthChanged();
        }
    }

    private void Flush(SensorSlot slot, DateTimeOffset now) => slot.Pipeline.Flush(now, sink);

    /// <summary>Opens the driver; the bus device is released again if the driver cannot start (chip absent, wrong id).</summary>
    private ISensorAdapter Open(SensorSlot slot)
    {
        System.Device.I2c.I2cDevice device = buses.Open(slot.Bus, slot.Address);
        try
        {
            return slot.Type.Open(device, slot.Options);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>Closes the driver; a driver that fails to close is logged, never allowed to stop the node.</summary>
    private void Close(SensorSlot slot)
    {
        ISensorAdapter? adapter = slot.Adapter;
        slot.Adapter = null;
        try
        {
            adapter?.Dispose();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogCloseFailed(slot.Id, $"{e.GetType().Name}: {e.Message}");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the driver of sensor {Sensor} failed: {Error}")]
    private partial void LogCloseFailed(string sensor, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sensor {Sensor} (bus {Bus}, 0x{Address:x2}) is {Health}: {Error}")]
    private partial void LogHealth(string sensor, int bus, int address, string health, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sensor {Sensor} (bus {Bus}, 0x{Address:x2}) reads again")]
    private partial void LogRecovered(string sensor, int bus, int address);

    public override void Dispose()
    {
        foreach (SemaphoreSlim s in _busLocks.Values)
        {
            s.Dispose();
        }

        base.Dispose();
    }
}
