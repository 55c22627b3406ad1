using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;
using SensorKit.Gateway.Broker.Accounts;
using SensorKit.Gateway.Health;

namespace SensorKit.Gateway.Broker;

/// <summary>
/// Who may connect to the embedded broker, with which client id, and what each account may publish and subscribe to:
/// <list type="bullet">
/// <item>a node writes only <c>sensorkit/v1/{its site}/{its node}/#</c> and its Home Assistant discovery topics, and reads only the open data (below);</item>
/// <item>only gateway accounts, and the gateway's own internal one, write <c>sensorkit/v1/{site}/alerts/#</c>;</item>
/// <item>subscribers, and anonymous clients (loopback only), read <c>sensorkit/#</c> and <c>homeassistant/#</c> and write nothing;</item>
/// <item>every client reads the open data under <c>v1.1/#</c> (SensorThings MQTT, docs/open-data.md); only the gateway's internal account writes it;</item>
/// <item>a client id belongs to one account, so nobody takes over another's session (MQTT 5.0 §3.1.4-3 would let them).</item>
/// </list>
/// A refused PUBLISH or SUBSCRIBE is answered with reason code 0x87 Not authorized (§3.4.2.1, §3.9.3), counted, and logged
/// once per client. Accounts come from Broker:AccountsFile, which is read again when it changes.
/// </summary>
public sealed partial class BrokerAuthorization
{
    /// <summary>The gateway's own account: random per start, never written anywhere.</summary>
    public const string InternalAccountName = "sensorkit-gateway-internal";

    /// <summary>SensorThings MQTT (OGC 18-088 §14): open data, readable by every client, written only by the gateway itself.</summary>
    public const string SensorThingsFilter = "v1.1/#";

    private const int LoggedClientsLimit = 1024;

    private static readonly Meter s_meter = new(GatewayMetrics.MeterName);
    private static readonly Counter<long> s_refused = s_meter.CreateCounter<long>(
        "sensorkit.gateway.broker.refused", description: "Connections, publishes and subscriptions the embedded broker refused");

    private readonly string? _accountsFile;
    private readonly ILogger<BrokerAuthorization> _logger;
    private readonly byte[] _internalPassword;
    private readonly Account _internal;
    private readonly ConcurrentDictionary<string, string> _accountOfClient = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _loggedClients = new(StringComparer.Ordinal);
    private readonly Lock _reloadLock = new();
    private volatile AccountRegistry _registry = AccountRegistry.Empty;
    private (DateTime WrittenAt, long Length) _loadedStamp;
    private (DateTime WrittenAt, long Length) _failedStamp;
    private long _nextReloadCheck;
    private long _connectionsRefused;
    private long _publishesRefused;
    private long _subscriptionsRefused;

    public BrokerAuthorization(IOptions<BrokerOptions> options, ILogger<BrokerAuthorization> logger)
    {
        _accountsFile = options.Value.AccountsFile is { Length: > 0 } f ? Path.GetFullPath(f) : null;
        _logger = logger;
        string password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        _internalPassword = Encoding.UTF8.GetBytes(password);
        InternalAccount = (InternalAccountName, password);
        _internal = new Account(InternalAccountName, AccountRole.Gateway, null, null, string.Empty);
        InternalClientId = $"sensorkit-gateway-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
    }

    /// <summary>User name and password of the gateway's own client.</summary>
    public (string Username, string Password) InternalAccount { get; }

    /// <summary>The gateway client's id: random per start, and the only client id with the <c>sensorkit-gateway</c> prefix the broker accepts.</summary>
    public string InternalClientId { get; }

    public AccountRegistry Registry => _registry;

    public long ConnectionsRefused => Interlocked.Read(ref _connectionsRefused);

    public long PublishesRefused => Interlocked.Read(ref _publishesRefused);

    public long SubscriptionsRefused => Interlocked.Read(ref _subscriptionsRefused);

    /// <summary>Reads the accounts file; at start a bad file stops the gateway with its name and the reason.</summary>
    public void Start()
    {
        if (_accountsFile is null)
        {
            return;
        }

        _loadedStamp = Stamp(_accountsFile);
        if (!File.Exists(_accountsFile))
        {
            // Fail closed: nobody can log in until `sensorkit-gateway accounts add` creates it; then it is read at the next connection.
            LogNoAccountsFile(_accountsFile);
            return;
        }

        try
        {
            _registry = AccountRegistry.Load(_accountsFile);
        }
        catch (AccountException e)
        {
            throw new GatewayConfigurationException($"{BrokerOptions.Section}:AccountsFile: {e.Message}", e);
        }
    }

    /// <summary>The account name of a connected client; null for anonymous clients and clients not connected.</summary>
    public string? AccountOf(string clientId) => _accountOfClient.TryGetValue(clientId, out string? name) ? name : null;

    /// <summary>True when <paramref name="account"/> is the node account of <paramref name="site"/>/<paramref name="node"/>: telemetry for a node must come from it.</summary>
    public bool OwnsNode(string? account, string site, string node) =>
        Resolve(account) is { Role: AccountRole.Node } a && a.Site == site && a.Node == node;

    /// <summary>
    /// Decides a CONNECT. Returns the reason code for the CONNACK and, for an MQTT 5 client that sent no client id,
    /// the id the broker assigns (MQTT 5.0 §3.2.2.3.7).
    /// </summary>
    public (MqttConnectReasonCode Code, string? AssignedClientId) AuthorizeConnect(string? userName, ReadOnlySpan<byte> password, string? clientId, EndPoint? remote)
    {
        if (userName is null)
        {
            // Anonymous clients only from this machine: they may read, never write.
            if (!IsLoopback(remote))
            {
                return (MqttConnectReasonCode.NotAuthorized, null);
            }

            if (string.IsNullOrEmpty(clientId))
            {
                return (MqttConnectReasonCode.Success, $"sensorkit-anon-{Guid.NewGuid():N}");
            }

            return clientId.StartsWith(AccountRegistry.ReservedNamePrefix, StringComparison.Ordinal) || CurrentRegistry().IsClaimed(clientId)
                ? (MqttConnectReasonCode.ClientIdentifierNotValid, null)
                : (MqttConnectReasonCode.Success, null);
        }

        Account? account;
        if (userName == InternalAccountName)
        {
            account = CryptographicOperations.FixedTimeEquals(password, _internalPassword) ? _internal : null;
        }
        else if (CurrentRegistry().Find(userName) is { } found)
        {
            account = PasswordHash.Verify(found.PasswordHash, password) ? found : null;
        }
        else
        {
            PasswordHash.VerifyNothing(password);
            account = null;
        }

        if (account is null)
        {
            return (MqttConnectReasonCode.BadUserNameOrPassword, null);
        }

        if (string.IsNullOrEmpty(clientId))
        {
            return account == _internal ? (MqttConnectReasonCode.ClientIdentifierNotValid, null) : (MqttConnectReasonCode.Success, $"sensorkit-auto-{Guid.NewGuid():N}");
        }

        bool own = account.Role switch
        {
            _ when account == _internal => clientId == InternalClientId,
            AccountRole.Node => clientId == account.NodeClientId || clientId == account.Name,
            _ => clientId == account.Name,
        };
        return own ? (MqttConnectReasonCode.Success, null) : (MqttConnectReasonCode.ClientIdentifierNotValid, null);
    }

    /// <summary>True when the account (null: anonymous) may publish to the topic name.</summary>
    public bool CanPublish(string? account, string clientId, string topic)
    {
        if (!TopicFilters.IsValidTopicName(topic) || Resolve(account) is not { } a)
        {
            return false;
        }

        if (TopicFilters.Matches(SensorThingsFilter, topic))
        {
            return a == _internal;
        }

        foreach (string filter in a.WriteFilters)
        {
            if (TopicFilters.Matches(filter, topic))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when everything the filter can match is readable by the account (null: anonymous).</summary>
    public bool CanSubscribe(string? account, string filter)
    {
        if (TopicFilters.Covers(SensorThingsFilter, filter))
        {
            return true;
        }

        IReadOnlyList<string> readable = account is null ? Account.ReadOnlyFilters : Resolve(account)?.ReadFilters ?? [];
        foreach (string allowed in readable)
        {
            if (TopicFilters.Covers(allowed, filter))
            {
                return true;
            }
        }

        return false;
    }

    /// <param name="e">The CONNECT.</param>
    /// <param name="assignedByTransport">The client id was assigned by the broker's transport to an MQTT 3.1.1 client that sent none; it is judged as none.</param>
    public Task ValidateConnectionAsync(ValidatingConnectionEventArgs e, bool assignedByTransport = false)
    {
        string? user = string.IsNullOrEmpty(e.UserName) && e.RawPassword is null ? null : e.UserName;
        (MqttConnectReasonCode code, string? assigned) = AuthorizeConnect(user, e.RawPassword, assignedByTransport ? null : e.ClientId, e.RemoteEndPoint);
        if (code != MqttConnectReasonCode.Success)
        {
            e.ReasonCode = code;
            Interlocked.Increment(ref _connectionsRefused);
            s_refused.Add(1, new KeyValuePair<string, object?>("kind", "connect"));
            if (ShouldLog($"connect|{e.RemoteEndPoint}|{e.ClientId}|{user}"))
            {
                LogConnectRefused(e.ClientId, user ?? "(anonymous)", e.RemoteEndPoint?.ToString() ?? "?", code.ToString());
            }

            return Task.CompletedTask;
        }

        if (assigned is not null && !assignedByTransport)
        {
            e.AssignedClientIdentifier = assigned;
        }

        if (user is not null)
        {
            _accountOfClient[string.IsNullOrEmpty(e.ClientId) ? assigned! : e.ClientId] = user;
        }

        return Task.CompletedTask;
    }

    public Task InterceptPublishAsync(InterceptingPublishEventArgs e)
    {
        string topic = e.ApplicationMessage.Topic;
        if (!CanPublish(NullIfEmpty(e.UserName), e.ClientId, topic))
        {
            // Handlers registered after this one must leave a refused message alone.
            e.ProcessPublish = false;
            e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            Interlocked.Increment(ref _publishesRefused);
            s_refused.Add(1, new KeyValuePair<string, object?>("kind", "publish"));
            if (ShouldLog($"publish|{e.ClientId}"))
            {
                LogPublishRefused(e.ClientId, e.UserName ?? "(anonymous)", topic);
            }
        }

        return Task.CompletedTask;
    }

    public Task InterceptSubscriptionAsync(InterceptingSubscriptionEventArgs e)
    {
        string filter = e.TopicFilter.Topic;
        if (!CanSubscribe(NullIfEmpty(e.UserName), filter))
        {
            e.ProcessSubscription = false;
            e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            Interlocked.Increment(ref _subscriptionsRefused);
            s_refused.Add(1, new KeyValuePair<string, object?>("kind", "subscribe"));
            if (ShouldLog($"subscribe|{e.ClientId}"))
            {
                LogSubscribeRefused(e.ClientId, e.UserName ?? "(anonymous)", filter);
            }
        }

        return Task.CompletedTask;
    }

    public Task ClientDisconnectedAsync(ClientDisconnectedEventArgs e)
    {
        // On a takeover the id lives on in the new connection, of the same account.
        if (e.DisconnectType != MqttClientDisconnectType.Takeover)
        {
            _accountOfClient.TryRemove(e.ClientId, out _);
        }

        return Task.CompletedTask;
    }

    /// <summary>The account by name; the file is looked at again at most once a second here, so a removed account stops publishing soon.</summary>
    private Account? Resolve(string? account)
    {
        if (account == InternalAccountName)
        {
            return _internal;
        }

        AccountRegistry registry = Environment.TickCount64 >= Interlocked.Read(ref _nextReloadCheck) ? CurrentRegistry() : _registry;
        return registry.Find(account);
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static bool IsLoopback(EndPoint? remote) => remote is IPEndPoint ip
        && IPAddress.IsLoopback(ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address);

    /// <summary>Once per client until the set is full; then it starts over, so memory stays bounded under a flood of client ids.</summary>
    private bool ShouldLog(string key)
    {
        if (_loggedClients.Count >= LoggedClientsLimit)
        {
            _loggedClients.Clear();
        }

        return _loggedClients.TryAdd(key, 0);
    }

    /// <summary>The registry, read again when the file has changed since; a file that fails to load leaves the last good one in force.</summary>
    private AccountRegistry CurrentRegistry()
    {
        if (_accountsFile is null)
        {
            return _registry;
        }

        Interlocked.Exchange(ref _nextReloadCheck, Environment.TickCount64 + 1000);
        (DateTime, long) stamp = Stamp(_accountsFile);
        if (stamp == _loadedStamp || stamp == _failedStamp)
        {
            return _registry;
        }

        lock (_reloadLock)
        {
            if (stamp != _loadedStamp && stamp != _failedStamp)
            {
                try
                {
                    // A deleted file takes every account with it: fail closed.
                    _registry = stamp.Item2 < 0 ? AccountRegistry.Empty : AccountRegistry.Load(_accountsFile);
                    _loadedStamp = stamp;
                    LogReloaded(_accountsFile, _registry.Accounts.Count);
                }
                catch (AccountException e)
                {
                    _failedStamp = stamp;
                    LogReloadFailed(e.Message);
                }
            }
        }

        return _registry;
    }

    private static (DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker refused the connection of client {ClientId} (user {User}, from {Endpoint}): {Reason}")]
    private partial void LogConnectRefused(string clientId, string user, string endpoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker refused a publish by client {ClientId} (account {Account}) to {Topic}: not authorized; further refusals of this client are counted, not logged")]
    private partial void LogPublishRefused(string clientId, string account, string topic);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker refused a subscription of client {ClientId} (account {Account}) to {Filter}: not authorized; further refusals of this client are counted, not logged")]
    private partial void LogSubscribeRefused(string clientId, string account, string filter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Accounts file {File} does not exist yet: only anonymous read-only clients on loopback can connect until 'sensorkit-gateway accounts add' creates it")]
    private partial void LogNoAccountsFile(string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "Accounts file {File} read again: {Count} accounts")]
    private partial void LogReloaded(string file, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Accounts file not read again, the previous accounts stay in force: {Reason}")]
    private partial void LogReloadFailed(string reason);
}
