namespace SensorKit.Node.Publishing;

/// <summary>What a message is; decides what may be dropped when the outbox is full.</summary>
public enum OutboxKind
{
    Telemetry,
    Alert,
}

/// <summary>A message waiting for the broker's PUBACK.</summary>
public sealed record OutboxMessage(OutboxKind Kind, long Sequence, string Topic, byte[] Payload, bool Retain);

/// <summary>
/// Holds produced messages until the broker has acknowledged them. The publisher takes the oldest,
/// publishes it at QoS 1 and removes it only after PUBACK, so an outage delays data but loses none
/// that fits within the bound.
/// </summary>
public interface IOutbox
{
    int Count { get; }

    /// <summary>Telemetry dropped to stay within the bound since start.</summary>
    long Dropped { get; }

    void Enqueue(OutboxMessage message);

    bool TryPeek(out OutboxMessage message);

    /// <summary>Removes <paramref name="message"/> after it was acknowledged.</summary>
    void Acknowledge(OutboxMessage message);

    /// <summary>Completes when the outbox holds at least one message.</summary>
    ValueTask WaitAsync(CancellationToken ct);
}

/// <summary>
/// A bounded in-memory outbox. When full it drops the oldest telemetry first and counts it;
/// alerts are never dropped for telemetry.
/// </summary>
public sealed class MemoryOutbox(int capacity = 10_000) : IOutbox
{
    private readonly LinkedList<OutboxMessage> _queue = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource _available = NewSignal();
    private long _dropped;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Enqueue(OutboxMessage message)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (_queue.Count >= capacity)
            {
                LinkedListNode<OutboxMessage>? oldestTelemetry = _queue.First;
                while (oldestTelemetry is not null && oldestTelemetry.Value.Kind != OutboxKind.Telemetry)
                {
                    oldestTelemetry = oldestTelemetry.Next;
                }

                if (oldestTelemetry is not null)
                {
                    _queue.Remove(oldestTelemetry);
                    Interlocked.Increment(ref _dropped);
                }
                else if (message.Kind == OutboxKind.Telemetry)
                {
                    Interlocked.Increment(ref _dropped);
                    return;
                }
            }

            // Alerts overtake queued telemetry.
            if (message.Kind == OutboxKind.Alert)
            {
                LinkedListNode<OutboxMessage>? firstTelemetry = _queue.First;
                while (firstTelemetry is not null && firstTelemetry.Value.Kind != OutboxKind.Telemetry)
                {
                    firstTelemetry = firstTelemetry.Next;
                }

                if (firstTelemetry is null)
                {
                    _queue.AddLast(message);
                }
                else
                {
                    _queue.AddBefore(firstTelemetry, message);
                }
            }
            else
            {
                _queue.AddLast(message);
            }

            signal = _available;
        }

        signal.TrySetResult();
    }

    public bool TryPeek(out OutboxMessage message)
    {
        lock (_lock)
        {
            message = _queue.First?.Value!;
            return _queue.Count > 0;
        }
    }

    public void Acknowledge(OutboxMessage message)
    {
        lock (_lock)
        {
            _queue.Remove(message);
        }
    }

    public async ValueTask WaitAsync(CancellationToken ct)
    {
        Task wait;
        lock (_lock)
        {
            if (_queue.Count > 0)
            {
                return;
            }

            if (_available.Task.IsCompleted)
            {
                _available = NewSignal();
            }

            wait = _available.Task;
        }

        await wait.WaitAsync(ct);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
