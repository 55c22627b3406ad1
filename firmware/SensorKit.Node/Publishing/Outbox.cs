namespace SensorKit.Node.Publishing;

/// <summary>What a message is; decides what may be dropped when the outbox is full.</summary>
public enum OutboxKind : byte
{
    Telemetry = 1,

    /// <summary>Never dropped to make room for telemetry, and sent before any queued telemetry.</summary>
    Alert = 2,
}

/// <summary>A message waiting for the broker's PUBACK, read back from the outbox.</summary>
public sealed record OutboxRecord(OutboxKind Kind, long Sequence, string Topic, byte[] Payload, bool Retain, DateTimeOffset Produced);

/// <summary>The outbox's figures for the node status.</summary>
/// <param name="Queued">Records waiting for the broker's PUBACK.</param>
/// <param name="Bytes">Disk the outbox takes.</param>
/// <param name="Dropped">Records dropped since start: oldest telemetry when full, anything older than the age bound, or a record the disk refused.</param>
/// <param name="CorruptRecords">Torn or damaged records found and cut off at start.</param>
public readonly record struct OutboxFigures(int Queued, long Bytes, long Dropped, long CorruptRecords);

/// <summary>Serialises a record's payload once its sequence number is known; the memory must stay valid until the call returns.</summary>
public delegate ReadOnlyMemory<byte> OutboxPayload<TState>(long sequence, in TState state);

/// <summary>
/// Holds produced messages until the broker has acknowledged them. A message counts as produced
/// once the outbox has taken it; it leaves only after the broker's PUBACK (or when a bound drops it,
/// which is counted). Sequence numbers are per node and increase across restarts.
/// </summary>
public interface IOutbox
{
    OutboxFigures Figures { get; }

    /// <summary>The sequence number the next appended record will get.</summary>
    long NextSequence { get; }

    /// <summary>
    /// Assigns the next sequence number, has <paramref name="payload"/> serialise the message with it,
    /// and stores it. False when it could not be stored (counted in <see cref="OutboxFigures.Dropped"/>).
    /// </summary>
    bool TryAppend<TState>(OutboxKind kind, string topic, bool retain, in TState state, OutboxPayload<TState> payload, out long sequence);

    /// <summary>The oldest waiting record of <paramref name="kind"/> with a sequence in [<paramref name="from"/>, <paramref name="below"/>).</summary>
    bool TryPeek(OutboxKind kind, long from, long below, out OutboxRecord record);

    /// <summary>Removes a record after its PUBACK (or after the broker refused it for good).</summary>
    void Acknowledge(long sequence);

    /// <summary>Completes once a record with a sequence at or above <paramref name="sequence"/> has been appended.</summary>
    ValueTask WaitForAppendAsync(long sequence, CancellationToken ct);
}
