using System.Text;
using System.Xml.Linq;
using Npgsql;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Storage.Group;
using SensorKit.Protocol;
using SensorKit.Tests.History;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Group;

/// <summary>
/// A gateway group as it runs in the field, on loopback: a real Mosquitto, a PostgreSQL database, and gateway
/// processes (the real executable) that share the sites by lease. A light "node" client publishes status and
/// telemetry; a subscriber records every alert message the group publishes.
/// </summary>
internal sealed class GroupCluster : IAsyncDisposable
{
    public const string Rule = GroupMember.Rule;

    /// <summary>Short leases, so the tests' takeovers take seconds; the defaults are measured in docs/scale-out.md.</summary>
    public static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(3);

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, ExecutableProcess> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Site, string Node), long> _seq = [];
    private readonly DateTimeOffset _start = DateTimeOffset.FromUnixTimeSeconds((DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60) - 3600);
    private readonly PayloadBuffer _buffer = new();
    private readonly string _state = TestDirectories.Create("group");

    private GroupCluster(MosquittoBroker broker, string connectionString, string[] sites, MqttProbe nodes, MqttProbe alerts)
    {
        Broker = broker;
        ConnectionString = connectionString;
        Sites = sites;
        Nodes = nodes;
        Alerts = alerts;
    }

    public MosquittoBroker Broker { get; }

    public string ConnectionString { get; }

    public string[] Sites { get; }

    /// <summary>Publishes as the nodes (Mosquitto here lets anyone publish; the ACL is the broker's job in production).</summary>
    public MqttProbe Nodes { get; }

    /// <summary>Every alert message the group published, in arrival order.</summary>
    public MqttProbe Alerts { get; }

    public IReadOnlyDictionary<string, ExecutableProcess> Members => _members;

    public static async Task<GroupCluster> StartAsync(string connectionString, int sites, params string[] members)
    {
        MosquittoBroker broker = await MosquittoBroker.StartAsync();
        MqttProbe alerts = await MqttProbe.StartAsync(broker.Port, Topics.AllAlertsFilter);
        MqttProbe nodes = await MqttProbe.StartAsync(broker.Port, filter: null);
        var cluster = new GroupCluster(broker, connectionString, [.. Enumerable.Range(1, sites).Select(i => $"s{i}")], nodes, alerts);
        foreach (string m in members)
        {
            cluster.StartMember(m);
        }

        return cluster;
    }

    public ExecutableProcess StartMember(string member)
    {
        ExecutableProcess p = ExecutableProcess.Gateway(GroupMember.Arguments(
            member, Broker.Port, ConnectionString, Sites, _state, LeaseTime, TimeSpan.FromSeconds(1),
            "--Cap:Signing:CertificateFile", ExampleSigningKey.CertificateFile, "--Cap:Signing:KeyFile", ExampleSigningKey.KeyFile));
        _members[member] = p;
        return p;
    }

    /// <summary>The holder of every site whose lease has not expired, by the database's clock.</summary>
    public async Task<Dictionary<string, (string Holder, long Token)>> HoldersAsync()
    {
        var holders = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
        // Unpooled: a test restarts PostgreSQL, which a pooled connection would not survive.
        await using var db = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT to_regclass('site_leases') IS NOT NULL", db);
        if (!(bool)(await cmd.ExecuteScalarAsync())!)
        {
            return holders;
        }

        await using var q = new NpgsqlCommand("SELECT site, holder, token FROM site_leases WHERE holder IS NOT NULL AND expires > now()", db);
        await using NpgsqlDataReader r = await q.ExecuteReaderAsync();
        while (await r.ReadAsync())
        {
            holders[r.GetString(0)] = (r.GetString(1), r.GetInt64(2));
        }

        return holders;
    }

    /// <summary>
    /// Waits until every site is held by the member of <paramref name="members"/> that rendezvous hashing gives it
    /// to, and its holder's session for it is subscribed (before that, the broker has no session for the site to
    /// queue its messages in).
    /// </summary>
    public async Task<Dictionary<string, (string Holder, long Token)>> WaitAllServedAsync(params string[] members)
    {
        Dictionary<string, (string Holder, long Token)> holders = [];
        string[] sorted = [.. members.Order(StringComparer.Ordinal)];
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    holders = await HoldersAsync();
                }
                catch (NpgsqlException)
                {
                    // PostgreSQL is restarting.
                    return false;
                }

                return Sites.All(s => holders.TryGetValue(s, out var h) && h.Holder == SiteLeases.OwnerOf(s, sorted)
                    && Subscribed(h.Holder, s));
            },
            Timeout,
            $"every site served by {string.Join(", ", members)}",
            () => $"now: {string.Join(", ", holders.Select(h => $"{h.Key}={h.Value.Holder}"))}\n{Logs()}");
        return holders;
    }

    public bool Subscribed(string member, string site) => GroupMember.Serves(_members[member].Output, site);

    public async Task StatusAsync(string site, string node)
    {
        var status = new NodeStatusMessage
        {
            Site = site,
            Node = node,
            State = NodeState.Online,
            Time = DateTimeOffset.UtcNow,
            Firmware = "0.1.0",
            Location = new GeoLocation(50.94, 6.96, 50),
            Sensors = [new SensorStatus { Id = "bme280", Type = "bme280", Bus = 1, Address = 0x76, Health = SensorHealth.Ok }],
        };
        // Retained, as the firmware does: a site's next holder learns the node from it.
        Assert.True((await Nodes.PublishAsync(Topics.Status(site, node), _buffer.Status(status).ToArray(), retain: true)).IsSuccess);
    }

    /// <summary>The node's next 1-minute window with mean <paramref name="mean"/>; windows advance by a minute each.</summary>
    public async Task TelemetryAsync(string site, string node, double mean)
    {
        long seq = _seq[(site, node)] = _seq.GetValueOrDefault((site, node)) + 1;
        TelemetryMessage m = HistoryData.Window(node, _start.AddMinutes(seq), seq, mean, stdDev: 0, site: site);
        Assert.True((await Nodes.PublishAsync(Topics.Telemetry(site, node, "bme280", Quantities.Temperature), _buffer.Telemetry(m).ToArray())).IsSuccess);
    }

    /// <summary>The alert events of a site's flood alert so far, in arrival order; a public rule alerts once per site, so the site is its subject.</summary>
    public List<AlertMessage> Events(string site) =>
        [.. Alerts.All.Where(m => m.Topic == Topics.AlertEvent(site, Rule, site))
            .Select(m => ProtocolJson.TryReadAlert(m.Payload, out AlertMessage? a, out string error) ? a : throw new InvalidOperationException(error))];

    public Task<MqttProbe.Received> WaitForEventAsync(string site, AlertState state, int revision) =>
        Alerts.WaitForAsync(
            m => m.Topic == Topics.AlertEvent(site, Rule, site) && ProtocolJson.TryReadAlert(m.Payload, out AlertMessage? a, out _) && a.State == state && a.Revision == revision,
            Timeout,
            $"{state} revision {revision} of {site}",
            Logs);

    /// <summary>
    /// What a whole run must hold for every alert: one raise, revisions 1, 2, 3 … without a gap or a repeat with other
    /// content, one CAP document per identifier, and every CAP follow-up referencing every earlier message.
    /// </summary>
    public void AssertConsistent()
    {
        var byIdentifier = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (MqttProbe.Received m in Alerts.All.Where(m => m.Topic.Contains("/alerts/cap/", StringComparison.Ordinal)))
        {
            XDocument doc = XDocument.Parse(Encoding.UTF8.GetString(m.Payload));
            string id = doc.Root!.Element((XNamespace)CapWriter.Namespace + "identifier")!.Value;
            // A QoS 1 redelivery repeats a document byte for byte; a second step under one identifier would differ.
            if (byIdentifier.TryGetValue(id, out string? seen))
            {
                Assert.True(seen == m.Text, $"two different CAP documents carry the identifier {id}:\n{seen}\n---\n{m.Text}");
            }

            byIdentifier[id] = m.Text;
        }

        foreach (IGrouping<string, AlertMessage> alert in Sites.SelectMany(s => Events(s)).GroupBy(a => a.AlertId))
        {
            // Redeliveries collapse onto their revision; what is left must be 1, 2, 3 … with one raise.
            List<AlertMessage> steps = [.. alert.GroupBy(a => a.Revision).Select(g => g.First()).OrderBy(a => a.Revision)];
            Assert.True(alert.GroupBy(a => a.Revision).All(g => g.Select(a => a.CapIdentifier).Distinct().Count() == 1), $"{alert.Key}: one revision under two identifiers");
            Assert.Equal(Enumerable.Range(1, steps.Count), steps.Select(a => a.Revision));
            Assert.Equal(AlertState.Raised, steps[0].State);
            Assert.Single(steps, a => a.State == AlertState.Raised);
        }
    }

    public string Logs() => string.Join("\n", _members.Select(m => $"--- {m.Key} (pid {m.Value.Id}{(m.Value.HasExited ? ", exited" : string.Empty)})\n{Tail(m.Value.Output)}"));

    private static string Tail(string output) => output.Length > 6000 ? output[^6000..] : output;

    public async ValueTask DisposeAsync()
    {
        foreach (ExecutableProcess p in _members.Values)
        {
            await p.DisposeAsync();
        }

        await Alerts.DisposeAsync();
        await Nodes.DisposeAsync();
        await Broker.DisposeAsync();
        _buffer.Dispose();
    }
}
