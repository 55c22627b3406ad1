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

    /// <summary>
    /// Messages queued for one subscriber that is not reading, or is away with a persistent session; beyond it new
    /// messages for it are dropped and counted, as Mosquitto's max_queued_messages does.
    /// </summary>
    public int MaxQueuedMessagesPerClient { get; set; } = 1000;

    /// <summary>
    /// The longest a session (subscriptions and queued messages) outlives its connection (MQTT 5.0 §3.1.2.11.2). A
    /// client asking for more is told this value in CONNACK (§3.2.2.3.2); MQTT 3.1.1 sessions, which the protocol
    /// never expires, last this long too. Sessions live in memory: a restart of the gateway ends them all.
    /// </summary>
    public TimeSpan MaxSessionExpiry { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Sessions that outlive their connection, present or away; a CONNECT asking for one more is refused with
    /// 0x97 Quota exceeded (3.1.1: 0x03 Server unavailable). Each may hold <see cref="MaxQueuedMessagesPerClient"/> messages.
    /// </summary>
    public int MaxSessions { get; set; } = 64;

    /// <summary>
    /// QoS 1 and 2 messages on their way to one client without its acknowledgement (fewer when the client's
    /// Receive Maximum says so), and the broker's own Receive Maximum for QoS 2 messages from a client (MQTT 5.0 §4.9).
    /// </summary>
    public int MaxInflightMessages { get; set; } = 20;

    /// <summary>Topic aliases one client may set on a connection (MQTT 5.0 §3.3.2.3.4), announced in CONNACK; 0 refuses aliases.</summary>
    public int MaxTopicAliases { get; set; } = 10;

    /// <summary><see cref="MaxSessionExpiry"/> in whole seconds, as MQTT counts it.</summary>
    internal uint MaxSessionExpirySeconds => (uint)Math.Clamp(Math.Floor(MaxSessionExpiry.TotalSeconds), 1, uint.MaxValue - 1);

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

        if (MaxSessionExpiry < TimeSpan.FromSeconds(1) || MaxSessionExpiry > TimeSpan.FromDays(365))
        {
            yield return $"{section}:MaxSessionExpiry: {MaxSessionExpiry} is outside 00:00:01-365.00:00:00";
        }

        if (MaxSessions is < 1 or > 1_000_000)
        {
            yield return $"{section}:MaxSessions: {MaxSessions} is outside 1-1000000";
        }

        if (MaxInflightMessages is < 1 or > ushort.MaxValue)
        {
            yield return $"{section}:MaxInflightMessages: {MaxInflightMessages} is outside 1-65535";
        }

        if (MaxTopicAliases is < 0 or > ushort.MaxValue)
        {
            yield return $"{section}:MaxTopicAliases: {MaxTopicAliases} is outside 0-65535";
        }
    }
}
