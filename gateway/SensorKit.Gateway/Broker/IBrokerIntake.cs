namespace SensorKit.Gateway.Broker;

/// <summary>What the intake made of one PUBLISH; the embedded broker answers the publisher accordingly.</summary>
public enum IntakeVerdict
{
    /// <summary>Taken (or a duplicate of what was taken): acknowledged and routed to subscribers.</summary>
    Accepted,

    /// <summary>Malformed or implausible: refused with PUBACK reason 0x99 (payload format invalid) and not routed.</summary>
    Rejected,

    /// <summary>From an account that does not own the node: refused with 0x87 (not authorized) and not routed.</summary>
    NotAuthorized,
}

/// <summary>
/// Where the embedded broker hands node messages (telemetry and status topics), inside its PUBLISH handling: the PUBACK goes out only once the
/// message is evaluated, so nothing the broker acknowledged can be lost in a queue behind it (docs/intake.md).
/// </summary>
public interface IBrokerIntake
{
    /// <summary>Completes once the gateway's state is restored; publishes wait for it rather than being lost.</summary>
    Task Ready { get; }

    IntakeVerdict Take(string topic, ReadOnlySpan<byte> payload, string clientId, string? userName, long receivedTimestamp);

    /// <summary>
    /// A node message the gateway's own client received from an external broker, which has already checked the
    /// sender; false when it was refused.
    /// </summary>
    bool Handle(string topic, ReadOnlySpan<byte> payload, long receivedTimestamp = 0);
}
