namespace SensorKit.Gateway.Broker;

/// <summary>
/// Configuration section "Broker:Limits": what one client, or all of them together, may cost the embedded broker.
/// Every limit holds before authentication too, so an unauthenticated client is bounded the same way.
/// docs/intake.md gives the memory bound these add up to.
/// </summary>
public sealed class BrokerLimits
{
    /// <summary>The largest packet after CONNECT: a 64 KiB payload (docs/protocol.md) plus topic and properties.</summary>
    public int MaxPacketBytes { get; set; } = (64 * 1024) + 4096;

    /// <summary>The largest CONNECT: client id, credentials and a will (the node's status) fit in far less.</summary>
    public int MaxConnectBytes { get; set; } = 16 * 1024;

    /// <summary>Open connections, authenticated or not; the next one is closed at once.</summary>
    public int MaxConnections { get; set; } = 1024;

    /// <summary>How long a new connection may take to complete its CONNECT (and TLS handshake).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Messages queued for one subscriber that is not reading; beyond it the oldest is dropped and counted.</summary>
    public int MaxQueuedMessagesPerClient { get; set; } = 1000;

    internal IEnumerable<string> Validate(string section)
    {
        if (MaxPacketBytes is < 1024 or > 16 * 1024 * 1024)
        {
            yield return $"{section}:MaxPacketBytes: {MaxPacketBytes} is outside 1024-16777216";
        }

        if (MaxConnectBytes < 128 || MaxConnectBytes > MaxPacketBytes)
        {
            yield return $"{section}:MaxConnectBytes: {MaxConnectBytes} is outside 128-{MaxPacketBytes} (MaxPacketBytes)";
        }

        if (MaxConnections is < 1 or > 1_000_000)
        {
            yield return $"{section}:MaxConnections: {MaxConnections} is outside 1-1000000";
        }

        if (ConnectTimeout <= TimeSpan.Zero || ConnectTimeout > TimeSpan.FromMinutes(5))
        {
            yield return $"{section}:ConnectTimeout: {ConnectTimeout} is outside 00:00:00-00:05:00";
        }

        if (MaxQueuedMessagesPerClient is < 1 or > 1_000_000)
        {
            yield return $"{section}:MaxQueuedMessagesPerClient: {MaxQueuedMessagesPerClient} is outside 1-1000000";
        }
    }
}
