using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Health;
using SensorKit.Gateway.Rules;
using SensorKit.Gateway.Storage;
using SensorKit.Gateway.Storage.Group;
using SensorKit.Hosting;

namespace SensorKit.Gateway;

/// <summary>
/// A gateway group member's lease loop, part of the composition (it ties the leases, the rule engine and the site
/// sessions together). Every Group:RenewInterval one round in PostgreSQL renews the leases it keeps, takes the sites
/// rendezvous hashing gives it that are free or expired, and learns the live members. A site it takes is restored
/// from the store (alerts continue with their next revision, unsent steps go out once) before its session starts;
/// a site that hashing now gives to a newer member is handed over: its session stops, its rule state is written,
/// and only then is its lease released, so two members never serve one site and the broker queues what arrives
/// between. A site whose lease ran out, or whose write the store refused, is dropped without writing anything.
/// </summary>
public sealed partial class GatewayGroup(
    SiteLeases leases,
    LeaseOwnership ownership,
    SiteSessions sessions,
    GatewayConnection connection,
    RuleEngine engine,
    IOptions<GroupOptions> options,
    TimeProvider time,
    ILogger<GatewayGroup> logger) : BackgroundService
{
    private readonly GroupOptions _options = options.Value;
    private readonly LogLimiter _logLimit = new(time, TimeSpan.FromMinutes(1), burst: 3);
    private readonly Dictionary<string, long> _serving = new(StringComparer.Ordinal);
    private IReadOnlyList<string> _members = [options.Value.Member!];
    private bool _seenMembers;

    /// <summary>The live members the last round saw, sorted.</summary>
    public IReadOnlyList<string> Members => Volatile.Read(ref _members);

    /// <summary>The sites this member serves now.</summary>
    public IReadOnlyCollection<string> Serving
    {
        get
        {
            lock (_serving)
            {
                return [.. _serving.Keys];
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!await TryAsync("schema", () => leases.EnsureSchemaAsync(stoppingToken)))
        {
            await Task.Delay(_options.RenewInterval, time, stoppingToken);
        }

        using var timer = new PeriodicTimer(_options.RenewInterval, time);
        try
        {
            do
            {
                try
                {
                    await RoundAsync(stoppingToken);
                }
#pragma warning disable CA1031 // The lease loop is what keeps this member's sites; a failed round is retried, never the end of it.
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    Log("round", e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync hands the sites over.
        }
    }

    private async Task RoundAsync(CancellationToken ct)
    {
        await DropLostAsync();
        string me = _options.Member!;
        // The first round only announces this member and learns the others: members that start together would
        // otherwise each take every site first and hand most of them over in the next round.
        List<string> desired = _seenMembers ? [.. _options.Sites.Where(s => SiteLeases.OwnerOf(s, Members) == me)] : [];
        // Everything served is renewed, also what is to be handed over: its lease must outlast the hand-over.
        List<string> keep = [.. Serving];

        List<string> wanted = [.. desired.Except(keep)];
        long started = time.GetTimestamp();
        LeaseRound? round = null;
        if (!connection.IsConnected)
        {
            // Without the broker this member can publish nothing: no heartbeat, so its sites expire and move to
            // members that can. When the broker is gone for everyone, nobody serves until it returns.
            await ExpireAsync("its lease ran out while this gateway had no broker connection");
            return;
        }

        if (!await TryAsync("lease-round", async () => round = await leases.RoundAsync(keep, wanted, ct)))
        {
            // The database is out of reach: serve on while the leases last by this member's clock, then stop.
            await ExpireAsync("its lease ran out while the database was unreachable");
            return;
        }

        Volatile.Write(ref _members, round!.Members.Count > 0 ? round.Members : [me]);
        _seenMembers = true;
        var renewed = new HashSet<string>(StringComparer.Ordinal);
        foreach (HeldLease lease in round.Held)
        {
            ownership.Hold(lease.Site, lease.Token, started);
            renewed.Add(lease.Site);
            if (lease.Acquired)
            {
                StartServing(lease.Site, lease.Token);
            }
        }

        foreach (string site in keep.Where(s => !renewed.Contains(s)))
        {
            await StopServingAsync(site, handOver: false, "its lease had expired or passed to another member");
        }

        // A member joined or left: hand over what hashing now gives to another live member.
        foreach (string site in Serving.Where(s => SiteLeases.OwnerOf(s, Members) != me))
        {
            await StopServingAsync(site, handOver: true, $"it belongs to {SiteLeases.OwnerOf(site, Members)} now");
        }

        await DropLostAsync();
    }

    private async Task ExpireAsync(string why)
    {
        foreach (string site in Serving.Where(s => !ownership.Holds(s)))
        {
            await StopServingAsync(site, handOver: false, why);
        }
    }

    private void StartServing(string site, long token)
    {
        try
        {
            engine.Restore(site);
        }
#pragma warning disable CA1031 // A site that cannot be restored (the database went away) is retried next round, with a new token.
        catch (Exception e)
#pragma warning restore CA1031
        {
            ownership.Drop(site);
            Log("restore", e);
            return;
        }

        lock (_serving)
        {
            _serving[site] = token;
        }

        LogTook(site, token);
        GatewayMetrics.SiteTakeovers.Add(1);
        sessions.Start(site);
    }

    private async Task StopServingAsync(string site, bool handOver, string why)
    {
        long token;
        lock (_serving)
        {
            if (!_serving.Remove(site, out token))
            {
                return;
            }
        }

        await sessions.StopAsync(site);
        engine.Release(site, handOver && ownership.Holds(site));
        ownership.Drop(site);
        if (handOver)
        {
            await TryAsync("release", () => leases.ReleaseAsync(site, token, CancellationToken.None));
        }

        LogLetGo(site, token, why);
    }

    private async Task DropLostAsync()
    {
        while (ownership.LostSites.TryRead(out (string Site, string Reason) lost))
        {
            await StopServingAsync(lost.Site, handOver: false, lost.Reason);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (string site in Serving)
        {
            await StopServingAsync(site, handOver: true, "the gateway stops");
        }

        await TryAsync("leave", () => leases.LeaveAsync(cancellationToken));
    }

    private async Task<bool> TryAsync(string work, Func<Task> action)
    {
        try
        {
            await action();
            return true;
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            Log(work, e);
            return false;
        }
    }

    private void Log(string work, Exception e)
    {
        GatewayMetrics.BackgroundFailures.Add(1, new KeyValuePair<string, object?>("work", "group-" + work));
        if (_logLimit.TryEnter(work, out long suppressed))
        {
            LogFailed(work, e.Message, suppressed);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Group: took site {Site} (fencing token {Token})")]
    private partial void LogTook(string site, long token);

    [LoggerMessage(Level = LogLevel.Information, Message = "Group: let go of site {Site} (fencing token {Token}): {Why}")]
    private partial void LogLetGo(string site, long token, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group: {Work} failed and is retried next round: {Reason} ({Suppressed} failures not logged since the last line)")]
    private partial void LogFailed(string work, string reason, long suppressed);
}

/// <summary>Runs the <see cref="GatewayGroup"/> lease loop when Group:Member is set; alone, the gateway holds every site and this does nothing.</summary>
internal sealed class GroupMembership(IOptions<GroupOptions> options, IServiceProvider services) : IHostedService
{
    private GatewayGroup? _group;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return Task.CompletedTask;
        }

        _group = services.GetRequiredService<GatewayGroup>();
        return _group.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => _group?.StopAsync(cancellationToken) ?? Task.CompletedTask;
}

internal static class GatewayGroupRegistration
{
    /// <summary>The group's parts; <see cref="ISiteOwnership"/> is the leases for a member and <see cref="SoleGateway"/> otherwise.</summary>
    public static IServiceCollection AddGatewayGroup(this IServiceCollection services)
    {
        services.AddSingleton<LeaseOwnership>();
        services.AddSingleton<ISiteOwnership>(sp => sp.GetRequiredService<IOptions<GroupOptions>>().Value.Enabled
            ? sp.GetRequiredService<LeaseOwnership>()
            : new SoleGateway());
        services.AddSingleton(sp => PostgresDatabase.Source(sp.GetRequiredService<IOptions<StateOptions>>().Value));
        services.AddSingleton(sp => new SiteLeases(sp.GetRequiredService<Npgsql.NpgsqlDataSource>(), sp.GetRequiredService<IOptions<GroupOptions>>().Value));
        services.AddSingleton<SiteSessions>();
        services.AddSingleton<GatewayGroup>();
        return services;
    }
}
