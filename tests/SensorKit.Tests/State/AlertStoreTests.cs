using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.State;
using SensorKit.Gateway.Storage;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.State;

/// <summary>
/// What the gateway's state store keeps and gives back, the same on SQLite and on PostgreSQL: alert steps with
/// their messages and rule state, the published flag, loads by site, the feed, pruning, rule state and nodes.
/// </summary>
public abstract class AlertStoreTests
{
    protected static readonly DateTimeOffset T0 = new(2026, 7, 1, 12, 0, 0, TimeSpan.FromHours(2));

    /// <summary>Somewhere new to keep state: a folder, a database.</summary>
    protected abstract string NewLocation();

    /// <summary>A store on <paramref name="location"/>, opened; a second one on the same location is a restart.</summary>
    protected abstract IAlertStore Open(string location);

    [Fact]
    public void A_step_is_stored_whole_and_comes_back_after_a_restart()
    {
        string location = NewLocation();
        StoredAlert alert = Alert("north", "level", "n1", revision: 2);
        alert.References.Add(new StoredReference("gateway.test", "SK-level-1", T0));
        alert.Nodes.Add("n1");
        alert.Expires = T0.AddHours(6);
        StoredMessage message = Message(alert, T0, cap: true);
        using (IAlertStore store = Open(location))
        {
            store.CommitStep(alert, ended: false, message, [new State("north/level/n1", "north", 8.5)]);
        }

        using IAlertStore again = Open(location);
        StoredAlert back = Assert.Single(again.LoadAlerts());
        Assert.Equal((alert.AlertId, 2, "n1", T0.AddHours(6)), (back.AlertId, back.Revision, Assert.Single(back.Nodes), back.Expires));
        Assert.Equal(alert.References, back.References);
        StoredMessage stored = again.LoadMessage(message.Identifier)!;
        Assert.Equal(message.Json, stored.Json);
        Assert.Equal(message.Cap, stored.Cap);
        Assert.Equal((message.Sent, message.Sent.Offset, message.Summary, message.Language, false), (stored.Sent, stored.Sent.Offset, stored.Summary, stored.Language, stored.Published));
        Assert.Equal("{\"v\":8.5}", Encoding.UTF8.GetString(again.LoadStates()["north/level/n1"]));
        Assert.Null(again.LoadMessage("no-such-message"));
    }

    [Fact]
    public void Everything_loads_by_site_or_all_together()
    {
        using IAlertStore store = Open(NewLocation());
        foreach (string site in new[] { "south", "north" })
        {
            StoredAlert a = Alert(site, "level", "n1");
            store.CommitStep(a, ended: false, Message(a, T0), [new State($"{site}/level/n1", site, 1)]);
            store.SaveNode(site, "n1", Encoding.UTF8.GetBytes($"{{\"site\":\"{site}\"}}"));
        }

        Assert.Equal(["north", "south"], store.LoadAlerts().Select(a => a.Site));
        Assert.Equal("north", Assert.Single(store.LoadAlerts("north")).Site);
        Assert.Equal(["north/level/n1"], store.LoadStates("north").Keys);
        Assert.Equal(2, store.LoadStates().Count);
        Assert.Equal("{\"site\":\"south\"}", Encoding.UTF8.GetString(Assert.Single(store.LoadNodes("south"))));
        Assert.Equal(2, store.LoadNodes().Count);
        Assert.Equal("south", Assert.Single(store.LoadUnpublished("south")).Site);
        Assert.Empty(store.LoadAlerts("east"));
    }

    [Fact]
    public void Unpublished_messages_come_oldest_first_until_they_are_marked_published()
    {
        string location = NewLocation();
        StoredAlert a = Alert("north", "level", "n1");
        using (IAlertStore store = Open(location))
        {
            // Stored out of time order, and two sent in the same millisecond: they keep the order they were stored in.
            store.CommitStep(a, ended: false, Message(a, T0.AddMinutes(2), id: "late"), []);
            store.CommitStep(a, ended: false, Message(a, T0, id: "early"), []);
            store.CommitStep(a, ended: false, Message(a, T0.AddMinutes(2), id: "late-second"), []);
            store.MarkPublished("early");
            store.MarkPublished("no-such-message");
        }

        using IAlertStore again = Open(location);
        Assert.Equal(["late", "late-second"], again.LoadUnpublished().Select(m => m.Identifier));
        Assert.True(again.LoadMessage("early")!.Published);
        again.MarkPublished("late");
        Assert.Equal(["late-second"], again.LoadUnpublished("north").Select(m => m.Identifier));
    }

    [Fact]
    public void An_ended_alert_leaves_the_active_ones_and_its_messages_stay_in_the_feed_until_pruned()
    {
        using IAlertStore store = Open(NewLocation());
        StoredAlert ended = Alert("north", "level", "n1");
        store.CommitStep(ended, ended: false, Message(ended, T0, id: "raise", cap: true), []);
        store.CommitStep(ended, ended: false, Message(ended, T0.AddMinutes(1), id: "json-only"), []);
        store.CommitStep(ended, ended: true, Message(ended, T0.AddHours(1), id: "clear", cap: true), []);
        StoredAlert active = Alert("north", "heat", "n2");
        store.CommitStep(active, ended: false, Message(active, T0.AddMinutes(-30), id: "heat", cap: true), []);

        Assert.Equal("heat", Assert.Single(store.LoadAlerts()).Rule);
        // Newest first, CAP only; an alert that ended before "since" drops out, an active one never does.
        Assert.Equal(["clear", "raise", "heat"], store.LoadFeed(T0, 10).Select(m => m.Identifier));
        Assert.Equal(["clear"], store.LoadFeed(T0, 1).Select(m => m.Identifier));
        Assert.Equal(["heat"], store.LoadFeed(T0.AddHours(2), 10).Select(m => m.Identifier));

        // Only published messages of ended alerts go.
        Assert.Equal(0, store.Prune(T0.AddDays(1)));
        foreach (string id in new[] { "raise", "json-only", "clear", "heat" })
        {
            store.MarkPublished(id);
        }

        Assert.Equal(0, store.Prune(T0.AddMinutes(59)));
        Assert.Equal(3, store.Prune(T0.AddDays(1)));
        Assert.Null(store.LoadMessage("clear"));
        Assert.NotNull(store.LoadMessage("heat"));
    }

    [Fact]
    public void A_state_that_cannot_be_written_is_named_and_the_others_are_written()
    {
        using IAlertStore store = Open(NewLocation());
        store.SaveStates([new State("a", "north", 1)]);

        IReadOnlyList<string> failed = store.SaveStates([new State("a", "north", 2), new State("nan", "north", double.NaN), new State("b", "south", 3)]);

        Assert.Equal(["nan"], failed);
        IReadOnlyDictionary<string, byte[]> states = store.LoadStates();
        Assert.Equal(["a", "b"], states.Keys.Order());
        Assert.Equal("{\"v\":2}", Encoding.UTF8.GetString(states["a"]));
    }

    [Fact]
    public void A_node_keeps_its_last_status()
    {
        using IAlertStore store = Open(NewLocation());
        store.SaveNode("north", "n1", [1]);
        store.SaveNode("north", "n1", [2]);
        store.SaveNode("south", "n1", [3]);

        Assert.Equal([2], Assert.Single(store.LoadNodes("north")));
        Assert.Equal([[2], [3]], store.LoadNodes().Select(b => b.ToArray()).OrderBy(b => b[0]));
    }

    [Fact]
    public void Opening_twice_is_harmless()
    {
        string location = NewLocation();
        using IAlertStore store = Open(location);
        store.Open();
        using IAlertStore second = Open(location);
        Assert.Empty(second.LoadAlerts());
    }

    protected static StoredAlert Alert(string site, string rule, string subject, int revision = 1) => new()
    {
        AlertId = $"{site}-{rule}-{subject}",
        Rule = rule,
        Site = site,
        Subject = subject,
        Revision = revision,
        RaisedAt = T0,
        Level = 1,
        Quantity = "water-level",
        Unit = "m",
        Value = 6.5,
        Threshold = 6.2,
        LastIdentifier = $"SK-{rule}-{revision}",
    };

    protected static StoredMessage Message(StoredAlert a, DateTimeOffset sent, string? id = null, bool cap = false) => new()
    {
        Identifier = id ?? $"SK-{a.AlertId}-{a.Revision}",
        AlertId = a.AlertId,
        Site = a.Site,
        Rule = a.Rule,
        Subject = a.Subject,
        Revision = a.Revision,
        State = "raised",
        Sent = sent,
        Title = "Flood: first stage",
        Summary = "6.5 m at n1",
        Language = "en-US",
        Json = Encoding.UTF8.GetBytes($"{{\"id\":\"{id}\"}}"),
        Cap = cap ? Encoding.UTF8.GetBytes("<alert/>") : null,
    };

    /// <summary>A rule state whose snapshot is {"v": value}; NaN cannot be written.</summary>
    protected sealed class State(string key, string site, double value) : IPersistentState
    {
        public string StateKey => key;

        public string Site => site;

        public void WriteSnapshot(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", value);
            writer.WriteEndObject();
        }
    }
}

public sealed class SqliteAlertStoreTests : AlertStoreTests
{
    protected override string NewLocation() => TestDirectories.Create("alert-store");

    protected override IAlertStore Open(string location)
    {
        var store = new SqliteAlertStore(
            Options.Create(new StateOptions { Directory = location }),
            new HostingEnvironment { ContentRootPath = location },
            NullLogger<SqliteAlertStore>.Instance);
        store.Open();
        return store;
    }
}

/// <summary>The same on PostgreSQL, and what only a gateway group has: a write for a site this gateway no longer holds is refused.</summary>
public sealed class PostgresAlertStoreTests(PostgresServer postgres) : AlertStoreTests, IAsyncLifetime
{
    public ValueTask InitializeAsync() => new(postgres.EnsureStartedAsync());

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    protected override string NewLocation() => postgres.CreateDatabase();

    protected override IAlertStore Open(string location) => Open(location, new SoleGateway());

    private static PostgresAlertStore Open(string connectionString, ISiteOwnership ownership)
    {
        var store = new PostgresAlertStore(
            Options.Create(new StateOptions { Provider = StateProvider.PostgreSql, ConnectionString = connectionString }),
            ownership,
            NullLogger<PostgresAlertStore>.Instance);
        store.Open();
        return store;
    }

    [Fact]
    public void A_step_for_a_site_whose_lease_expired_or_went_to_another_gateway_is_refused_and_nothing_of_it_is_stored()
    {
        string db = postgres.CreateDatabase();
        var ownership = new Lease("gw-a") { Tokens = { ["north"] = 7 } };
        using PostgresAlertStore store = Open(db, ownership);
        Execute(db, "INSERT INTO site_leases VALUES ('north', 'gw-a', 7, now() + interval '1 minute')");
        StoredAlert a = Alert("north", "level", "n1");
        store.CommitStep(a, ended: false, Message(a, T0, id: "held"), [new State("north/level/n1", "north", 1)]);

        // Taken over: a newer token of another gateway.
        Execute(db, "UPDATE site_leases SET holder = 'gw-b', token = 8");
        StoredAlert next = Alert("north", "level", "n1", revision: 2);
        var refused = Assert.Throws<SiteNotHeldException>(() => store.CommitStep(next, ended: false, Message(next, T0.AddMinutes(1), id: "taken"), [new State("north/level/n1", "north", 2)]));
        Assert.Equal("north", refused.Site);

        // Expired: this gateway's own token, but past its time.
        Execute(db, "UPDATE site_leases SET holder = 'gw-a', token = 7, expires = now() - interval '1 second'");
        Assert.Throws<SiteNotHeldException>(() => store.CommitStep(next, ended: true, Message(next, T0.AddMinutes(2), id: "expired"), []));

        // Given up by this gateway's own clock: refused before the database is asked.
        Execute(db, "UPDATE site_leases SET expires = now() + interval '1 minute'");
        ownership.Tokens.Clear();
        Assert.Throws<SiteNotHeldException>(() => store.CommitStep(next, ended: false, Message(next, T0.AddMinutes(3), id: "given-up"), []));
        Assert.Throws<SiteNotHeldException>(() => store.SaveNode("north", "n1", [1]));

        Assert.Equal(1, Assert.Single(store.LoadAlerts()).Revision);
        Assert.Equal(["held"], store.LoadUnpublished().Select(m => m.Identifier));
        Assert.Equal("{\"v\":1}", Encoding.UTF8.GetString(store.LoadStates()["north/level/n1"]));
        Assert.Empty(store.LoadNodes());
        Assert.Equal(["north", "north", "north", "north"], ownership.Lost.Select(l => l.Site));
    }

    [Fact]
    public void Rule_state_of_the_sites_held_is_written_and_of_the_others_left_out()
    {
        string db = postgres.CreateDatabase();
        var ownership = new Lease("gw-a") { Tokens = { ["north"] = 3, ["south"] = 4 } };
        using PostgresAlertStore store = Open(db, ownership);
        Execute(db, "INSERT INTO site_leases VALUES ('north', 'gw-a', 3, now() + interval '1 minute'), ('south', 'gw-b', 5, now() + interval '1 minute')");

        IReadOnlyList<string> failed = store.SaveStates([new State("n", "north", 1), new State("s", "south", 2), new State("e", "east", 3)]);

        Assert.Empty(failed);
        Assert.Equal(["n"], store.LoadStates().Keys);
        Assert.Equal(["east", "south"], ownership.Lost.Select(l => l.Site).Order());
        store.SaveNode("north", "n1", [1]);
        Assert.Single(store.LoadNodes("north"));
    }

    [Fact]
    public async Task While_PostgreSQL_is_down_writes_fail_as_store_failures_and_after_its_restart_they_succeed()
    {
        await using PostgresServer own = await PostgresServer.StartNewAsync();
        using PostgresAlertStore store = Open(own.CreateDatabase(), new SoleGateway());
        StoredAlert a = Alert("north", "level", "n1");
        store.CommitStep(a, ended: false, Message(a, T0, id: "before"), []);

        // The pool's connection died with the server; the first write after the restart goes through all the same.
        await own.StopAsync();
        await own.StartAsync();
        store.CommitStep(a, ended: false, Message(a, T0.AddMinutes(1), id: "after-restart"), []);

        await own.StopAsync();
        Assert.Throws<StateStoreException>(() => store.CommitStep(a, ended: false, Message(a, T0.AddMinutes(2), id: "during"), []));
        Assert.Throws<StateStoreException>(() => store.MarkPublished("before"));
        Assert.Throws<StateStoreException>(() => store.LoadAlerts());
        await own.StartAsync();

        store.CommitStep(a, ended: false, Message(a, T0.AddMinutes(3), id: "after"), []);
        store.MarkPublished("before");
        Assert.Equal(["after-restart", "after"], store.LoadUnpublished().Select(m => m.Identifier));
        Assert.Null(store.LoadMessage("during"));
    }

    [Fact]
    public void A_database_that_does_not_exist_is_a_configuration_error_naming_the_key_without_the_password()
    {
        string missing = new NpgsqlConnectionStringBuilder(postgres.CreateDatabase()) { Database = "no_such_database", Password = "secret-word" }.ConnectionString;

        var e = Assert.Throws<SensorKit.Gateway.GatewayConfigurationException>(() => Open(missing, new SoleGateway()));

        Assert.StartsWith("State:ConnectionString: PostgreSQL 127.0.0.1:", e.Message, StringComparison.Ordinal);
        Assert.Contains("no_such_database", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-word", e.Message, StringComparison.Ordinal);
    }

    private static void Execute(string connectionString, string sql)
    {
        using var c = new NpgsqlConnection(connectionString);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }

    /// <summary>A group member's view of its leases, set by the test; the database's lease rows decide as well.</summary>
    private sealed class Lease(string member) : ISiteOwnership
    {
        public Dictionary<string, long> Tokens { get; } = [];

        public List<(string Site, string Reason)> Lost { get; } = [];

        public string? Member => member;

        public bool TryGetToken(string site, out long token) => Tokens.TryGetValue(site, out token);

        void ISiteOwnership.Lost(string site, string reason) => Lost.Add((site, reason));
    }
}
