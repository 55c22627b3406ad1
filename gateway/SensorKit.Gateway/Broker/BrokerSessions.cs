using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using SensorKit.Gateway.Broker.Transport;

namespace SensorKit.Gateway.Broker;

/// <summary>
/// Sessions that outlive their connection (MQTT 5.0 §4.1, 3.1.1 §3.1.2.4): subscriptions and the messages queued
/// while the client is away. MQTTnet keeps them, in memory; this decides how long: the Session Expiry Interval of the
/// last CONNECT, or of the DISCONNECT when it sets one (5.0 §3.14.2.2.2), capped at
/// <see cref="BrokerLimits.MaxSessionExpiry"/>; at most <see cref="BrokerLimits.MaxSessions"/> of them; and each
/// resumable only by the account that made it. MQTTnet's own expiry is never used (the adapter tells it "never" or
/// "with the connection"): it counts from the session's first CONNECT and ignores DISCONNECT.
/// </summary>
internal sealed class BrokerSessions(BrokerLimits limits, TimeProvider time, Func<string, Task> deleteSession)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private int _kept;

    private sealed class Entry(string? owner)
    {
        public string? Owner { get; } = owner;

        /// <summary>Seconds the session outlives its connection; 0: it ends with it.</summary>
        public uint Expiry { get; set; }

        public GuardedChannelAdapter? Connection { get; set; }

        /// <summary>When the last connection closed (<see cref="TimeProvider.GetTimestamp"/>); meaningful while <see cref="Connection"/> is null.</summary>
        public long AwaySince { get; set; }

        /// <summary>The removal under way: MQTTnet's session is being deleted.</summary>
        public Task? Deleting { get; set; }
    }

    /// <summary>Sessions kept beyond their connection, present or away.</summary>
    public int Kept
    {
        get
        {
            lock (_lock)
            {
                return _kept;
            }
        }
    }

    /// <summary>
    /// Decides the session of a CONNECT that passed authorization, before MQTTnet looks for an existing one:
    /// a session that has expired, or belongs to another account, is deleted first, so the client starts afresh.
    /// </summary>
    /// <returns>Success, or QuotaExceeded when the client asks for a session to keep and <see cref="BrokerLimits.MaxSessions"/> are kept.</returns>
    public async Task<MqttConnectReasonCode> OpenAsync(GuardedChannelAdapter connection, MqttConnectPacket connect, string clientId, string? owner, bool v5)
    {
        // MQTT 3.1.1 has no expiry: a session that is not clean lasts until the client cleans it.
        uint requested = v5 ? connect.SessionExpiryInterval : connect.CleanSession ? 0u : uint.MaxValue;
        uint granted = Math.Min(requested, limits.MaxSessionExpirySeconds);
        while (true)
        {
            Task pending;
            lock (_lock)
            {
                _entries.TryGetValue(clientId, out Entry? entry);
                if (entry?.Deleting is { } deleting)
                {
                    pending = deleting;
                }
                else if (entry is not null && (entry.Owner != owner || (entry.Connection is null && Expired(entry))))
                {
                    pending = entry.Deleting = Task.Run(() => RemoveAsync(clientId, entry, entry.Connection));
                }
                else
                {
                    if (granted > 0 && (entry is null || entry.Expiry == 0) && _kept >= limits.MaxSessions)
                    {
                        return MqttConnectReasonCode.QuotaExceeded;
                    }

                    if (entry is null)
                    {
                        entry = new Entry(owner);
                        _entries[clientId] = entry;
                    }

                    SetExpiry(entry, granted);
                    entry.Connection = connection;
                    break;
                }
            }

            await pending.ConfigureAwait(false);
        }

        connection.GrantSession(clientId, requested, granted);
        return MqttConnectReasonCode.Success;
    }

    /// <summary>The connection has ended, and MQTTnet has kept or deleted the session.</summary>
    public void Closed(GuardedChannelAdapter connection)
    {
        if (connection.SessionClientId is not { } clientId)
        {
            return;
        }

        lock (_lock)
        {
            // After a takeover the session is the newer connection's.
            if (!_entries.TryGetValue(clientId, out Entry? entry) || entry.Connection != connection)
            {
                return;
            }

            if (connection.FinalSessionExpiry == 0 && connection.PacketFormatterAdapter.ProtocolVersion != MqttProtocolVersion.V310)
            {
                // MQTTnet has deleted it already.
                SetExpiry(entry, 0);
                _entries.Remove(clientId);
                return;
            }

            // Kept; MQTT 3.1 sessions MQTTnet keeps whatever the client asked, so an expiry of 0 goes at the next sweep.
            entry.Connection = null;
            entry.AwaySince = time.GetTimestamp();
            SetExpiry(entry, connection.FinalSessionExpiry);
        }
    }

    /// <summary>Deletes the sessions whose expiry has passed while their client was away; returns how many.</summary>
    public async Task<int> SweepAsync()
    {
        List<Task> removals = [];
        lock (_lock)
        {
            foreach ((string clientId, Entry entry) in _entries)
            {
                if (entry is { Connection: null, Deleting: null } && Expired(entry))
                {
                    string id = clientId;
                    entry.Deleting = Task.Run(() => RemoveAsync(id, entry, null));
                    removals.Add(entry.Deleting);
                }
            }
        }

        await Task.WhenAll(removals).ConfigureAwait(false);
        return removals.Count;
    }

    private bool Expired(Entry entry) => time.GetElapsedTime(entry.AwaySince) >= TimeSpan.FromSeconds(entry.Expiry);

    /// <param name="connected">Another account's connection on the session: deleting the session stops it, and the
    /// new one waits for it to end, as MQTTnet's clean-up of a stopped connection would otherwise remove the new one.</param>
    private async Task RemoveAsync(string clientId, Entry entry, GuardedChannelAdapter? connected)
    {
        try
        {
            await deleteSession(clientId).ConfigureAwait(false);
            if (connected is not null)
            {
                await Task.WhenAny(connected.Finished, Task.Delay(TimeSpan.FromSeconds(10), time)).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (_lock)
            {
                if (_entries.TryGetValue(clientId, out Entry? current) && current == entry)
                {
                    SetExpiry(entry, 0);
                    _entries.Remove(clientId);
                }
            }
        }
    }

    private void SetExpiry(Entry entry, uint expiry)
    {
        _kept += (expiry > 0 ? 1 : 0) - (entry.Expiry > 0 ? 1 : 0);
        entry.Expiry = expiry;
    }
}
