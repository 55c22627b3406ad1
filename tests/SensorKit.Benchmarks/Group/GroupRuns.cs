using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using MQTTnet;
using Npgsql;
using SensorKit.Protocol;
using SensorKit.Tests.Group;
using SensorKit.Tests.Support;
using static SensorKit.Benchmarks.LoadSupport;

namespace SensorKit.Benchmarks.Group;

/// <summary>
/// The gateway group's figures (docs/scale-out.md), on real parts: PostgreSQL, Mosquitto and gateway processes.
/// "group-takeover": kill -9 of the member that holds a site with an active alert, again and again; how long until
/// another member holds the site, and how long a window sent at the kill waits for its alert step.
/// "group-load": many light simulated nodes against 1 or 3 members; the alert latency under that load, beside
/// Mosquitto's own relay rate on the same machine.
/// </summary>
internal static class GroupRuns
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    public static async Task<int> TakeoverAsync(string[] args)
    {
        int runs = Option(args, "--runs", 20);
        int members = Option(args, "--members", 3);
        int siteCount = Option(args, "--sites", 6);
        TimeSpan lease = TimeSpan.FromSeconds(Option(args, "--lease-seconds", 9));
        TimeSpan renew = TimeSpan.FromSeconds(Option(args, "--renew-seconds", 3));
        string[] sites = [.. Enumerable.Range(1, siteCount).Select(i => $"s{i}")];

        await using PostgresProcess pg = await PostgresProcess.StartAsync();
        await using MosquittoProcess broker = await MosquittoProcess.StartAsync();
        string state = Directory.CreateTempSubdirectory("sensorkit-bench-group-").FullName;
        var group = new Dictionary<string, ExecutableProcess>(StringComparer.Ordinal);
        foreach (string name in Enumerable.Range(1, members).Select(i => $"g{i}"))
        {
            group[name] = Member(name, broker.Port, pg.ConnectionString, sites, state, lease, renew, history: false);
        }

        using var buffer = new PayloadBuffer();
        IMqttClient node = await ClientAsync(broker.Port, "bench-node");
        var events = new ConcurrentQueue<(long At, AlertMessage Alert)>();
        IMqttClient watcher = await ClientAsync(broker.Port, "bench-watcher");
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            if (ProtocolJson.TryReadAlert(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), out AlertMessage? a, out _))
            {
                events.Enqueue((Stopwatch.GetTimestamp(), a!));
            }

            return Task.CompletedTask;
        };
        await watcher.SubscribeAsync(Topics.Prefix + "s1/alerts/event/#");
        try
        {
            await WaitAsync(() => sites.All(s => group.Values.Any(m => GroupMember.Serves(m.Output, s))), "every site served");
            DateTimeOffset start = DateTimeOffset.FromUnixTimeSeconds((DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60) - 7200);
            long seq = 0;
            await node.PublishAsync(Message(Topics.Status("s1", "n1"), Status(buffer, "s1", "n1"), retain: true));
            await node.PublishAsync(Message(Topics.Telemetry("s1", "n1", "bme280", Quantities.Temperature), Window(buffer, "s1", "n1", 35, start.AddMinutes(++seq), seq)));
            await WaitAsync(() => events.Any(e => e.Alert.State == AlertState.Raised), "the raise");

            var takeover = new List<double>();
            var delay = new List<double>();
            for (int run = 1; run <= runs; run++)
            {
                (string holder, long token) = await HolderAsync(pg.ConnectionString, "s1");
                int revision = events.Max(e => e.Alert.Revision);
                ExecutableProcess victim = group[holder];
                long killed = Stopwatch.GetTimestamp();
                await victim.KillAsync();
                // Sent at the kill: the stage changes, so it must give the next revision, from whoever takes s1 over.
                double mean = run % 2 == 1 ? 45 : 35;
                await node.PublishAsync(Message(Topics.Telemetry("s1", "n1", "bme280", Quantities.Temperature), Window(buffer, "s1", "n1", mean, start.AddMinutes(++seq), seq)));
                (string next, long nextToken) = ("", 0);
                await WaitAsync(
                    async () =>
                    {
                        (next, nextToken) = await HolderAsync(pg.ConnectionString, "s1");
                        return next.Length > 0 && next != holder;
                    },
                    "another member holds s1");
                takeover.Add(Stopwatch.GetElapsedTime(killed).TotalMilliseconds);
                await WaitAsync(() => events.Any(e => e.Alert.Revision == revision + 1), $"revision {revision + 1}");
                long at = events.First(e => e.Alert.Revision == revision + 1).At;
                delay.Add(Stopwatch.GetElapsedTime(killed, at).TotalMilliseconds);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {run}: {holder} (token {token}) killed; {next} (token {nextToken}) took s1 after {takeover[^1]:0} ms; revision {revision + 1} out after {delay[^1]:0} ms"));

                // The killed member comes back (systemd would restart it) before the next run.
                await victim.DisposeAsync();
                group[holder] = Member(holder, broker.Port, pg.ConnectionString, sites, state, lease, renew, history: false);
                await WaitAsync(() => sites.All(s => group.Values.Any(m => GroupMember.Serves(m.Output, s))), "every site served again");
            }

            List<AlertMessage> all = [.. events.Select(e => e.Alert)];
            int raises = all.Where(a => a.State == AlertState.Raised).Select(a => a.CapIdentifier).Distinct().Count();
            int revisions = all.Select(a => a.Revision).Distinct().Count();
            int maxRevision = all.Max(a => a.Revision);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"group-takeover: {runs} runs, {members} members, {siteCount} sites, lease {lease.TotalSeconds:0} s, renew {renew.TotalSeconds:0} s"));
            Report("takeover after kill -9 (ms)", takeover);
            Report("alert delay of a window sent at the kill (ms)", delay);
            Console.WriteLine($"raises {raises}, revisions 1..{maxRevision} with {revisions} distinct ({(revisions == maxRevision ? "no gap" : "GAP")}), events received {all.Count}");
            return raises == 1 && revisions == maxRevision ? 0 : 1;
        }
        finally
        {
            foreach (ExecutableProcess m in group.Values)
            {
                await m.DisposeAsync();
            }

            node.Dispose();
            watcher.Dispose();
            Directory.Delete(state, recursive: true);
        }
    }

    public static async Task<int> LoadAsync(string[] args)
    {
        int nodes = Option(args, "--nodes", 10_000);
        int siteCount = Option(args, "--sites", 100);
        int members = Option(args, "--members", 3);
        int minutes = Option(args, "--minutes", 3);
        int channels = Option(args, "--channels", 9);
        int crossingPerMinute = Option(args, "--crossings", 50);
        bool history = !Flag(args, "--no-history");
        string[] sites = [.. Enumerable.Range(1, siteCount).Select(i => $"site{i:000}")];
        int perMinute = nodes * channels;
        int rate = (int)Math.Ceiling(perMinute / 60.0);

        await using PostgresProcess pg = await PostgresProcess.StartAsync();
        await using MosquittoProcess broker = await MosquittoProcess.StartAsync();
        using var buffer = new PayloadBuffer();

        // Mosquitto alone first: how fast it relays these messages to one subscriber on this machine.
        double relay = await RelayRateAsync(broker.Port, buffer, sites, Math.Min(perMinute, 60_000));

        string state = Directory.CreateTempSubdirectory("sensorkit-bench-group-").FullName;
        var group = new List<ExecutableProcess>();
        for (int i = 1; i <= members; i++)
        {
            group.Add(Member($"g{i}", broker.Port, pg.ConnectionString, sites, state, TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(3), history));
        }

        var pending = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var latencies = new ConcurrentBag<double>();
        IMqttClient watcher = await ClientAsync(broker.Port, "bench-alerts");
        watcher.ApplicationMessageReceivedAsync += e =>
        {
            if (ProtocolJson.TryReadAlert(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), out AlertMessage? a, out _) && pending.TryRemove($"{a.Site}/{a.Subject}/{a.State}", out long sent))
            {
                latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            }

            return Task.CompletedTask;
        };
        await watcher.SubscribeAsync(Topics.AllAlertsFilter.Replace("#", "event/#", StringComparison.Ordinal));
        IMqttClient[] publishers = [.. await Task.WhenAll(Enumerable.Range(0, 4).Select(i => ClientAsync(broker.Port, $"bench-nodes-{i}")))];
        try
        {
            await WaitAsync(() => sites.All(s => group.Any(m => GroupMember.Serves(m.Output, s))), "every site served");
            string Node(int i) => $"n{i:00000}";
            string SiteOf(int i) => sites[i % siteCount];
            // Written once on this thread (a PayloadBuffer is not shared across threads), then sent in parallel.
            byte[][] statuses = [.. Enumerable.Range(0, nodes).Select(i => Status(buffer, SiteOf(i), Node(i)))];
            await Parallel.ForAsync(0, nodes, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
                await publishers[i % publishers.Length].PublishAsync(Message(Topics.Status(SiteOf(i), Node(i)), statuses[i], retain: true), ct));

            DateTimeOffset start = DateTimeOffset.FromUnixTimeSeconds((DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60) - (minutes * 60) - 60);
            var hot = new HashSet<int>();
            long published = 0;
            var clock = Stopwatch.StartNew();
            for (int minute = 1; minute <= minutes; minute++)
            {
                // Each minute some nodes cross the threshold and as many fall back: each is one alert step to time.
                var crossing = new HashSet<int>(Enumerable.Range(0, crossingPerMinute).Select(k => ((minute * 7919) + (k * 104_729)) % nodes));
                DateTimeOffset end = start.AddMinutes(minute);
                long minuteStart = Stopwatch.GetTimestamp();
                for (int i = 0; i < nodes; i++)
                {
                    bool wasHot = hot.Contains(i);
                    bool isHot = crossing.Contains(i) ? !wasHot : wasHot;
                    for (int c = 0; c < channels; c++)
                    {
                        string sensor = c == 0 ? "bme280" : $"ch{c}";
                        double mean = c == 0 && isHot ? 35 : 20;
                        byte[] payload = Window(buffer, SiteOf(i), Node(i), mean, end, minute, sensor);
                        if (c == 0 && isHot != wasHot)
                        {
                            pending[$"{SiteOf(i)}/{Node(i)}/{(isHot ? AlertState.Raised : AlertState.Cleared)}"] = Stopwatch.GetTimestamp();
                        }

                        await publishers[i % publishers.Length].PublishAsync(Message(Topics.Telemetry(SiteOf(i), Node(i), sensor, Quantities.Temperature), payload));
                        published++;
                        // Paced to the nodes' own rate: 1-minute windows spread over the minute.
                        double due = published * 1000.0 / rate;
                        double ahead = due - clock.Elapsed.TotalMilliseconds;
                        if (ahead > 5)
                        {
                            await Task.Delay(TimeSpan.FromMilliseconds(ahead));
                        }
                    }

                    if (isHot)
                    {
                        hot.Add(i);
                    }
                    else
                    {
                        hot.Remove(i);
                    }
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"minute {minute}: {nodes * channels} windows in {Stopwatch.GetElapsedTime(minuteStart).TotalSeconds:0.0} s, {latencies.Count} alert steps timed so far, {pending.Count} waiting"));
            }

            // A step still missing after this is lost, not late: every window was acknowledged by the broker.
            await WaitAsync(() => pending.IsEmpty, "every alert step of the run", TimeSpan.FromSeconds(Option(args, "--drain-seconds", 180)), throwOnTimeout: false);
            List<double> sorted = [.. latencies.Order()];
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"group-load: {nodes} nodes x {channels} channels at 1-minute windows ({rate} msg/s), {siteCount} sites, {members} member(s), history {(history ? "on" : "off")}, {minutes} min"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Mosquitto relay alone on this machine: {relay:0} msg/s ({relay / rate:0.0} x the load)"));
            Report("alert latency, window published to alert event received (ms)", sorted);
            Console.WriteLine($"site takes {group.Sum(m => Count(m.Output, "Group: took site "))}, lets go {group.Sum(m => Count(m.Output, "Group: let go of site "))} across the members ({sites.Length} sites)");
            Console.WriteLine($"alert steps timed {sorted.Count}, missing {pending.Count}{(pending.IsEmpty ? string.Empty : ": " + string.Join(", ", pending.Keys.Order(StringComparer.Ordinal).Take(10)))}");
            return pending.IsEmpty ? 0 : 1;
        }
        finally
        {
            foreach (ExecutableProcess m in group)
            {
                await m.DisposeAsync();
            }

            foreach (IMqttClient p in publishers)
            {
                p.Dispose();
            }

            watcher.Dispose();
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>A member with the defaults' lease timing; its rule alerts per node, so every crossing of the load is one step to time.</summary>
    private static ExecutableProcess Member(string name, int brokerPort, string connectionString, string[] sites, string state, TimeSpan lease, TimeSpan renew, bool history) =>
        ExecutableProcess.Gateway(GroupMember.Arguments(
            name, brokerPort, connectionString, sites, state, lease, renew,
            "--History:Enabled", history ? "true" : "false",
            "--Rules:Threshold:0:Scope", "Node",
            "--Rules:Threshold:0:ScopeReason", "load measurement: one alert per node"));

    /// <summary>Mosquitto's relay rate for QoS 1 telemetry to one subscriber, publisher and subscriber in this process.</summary>
    private static async Task<double> RelayRateAsync(int port, PayloadBuffer buffer, string[] sites, int count)
    {
        using IMqttClient sub = await ClientAsync(port, "bench-relay-sub");
        long received = 0;
        var done = new TaskCompletionSource();
        sub.ApplicationMessageReceivedAsync += _ =>
        {
            if (Interlocked.Increment(ref received) == count)
            {
                done.TrySetResult();
            }

            return Task.CompletedTask;
        };
        await sub.SubscribeAsync("relay/#", MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce);
        using IMqttClient pub = await ClientAsync(port, "bench-relay-pub");
        byte[] payload = Window(buffer, sites[0], "n00000", 20, DateTimeOffset.UtcNow, 1);
        var clock = Stopwatch.StartNew();
        using var window = new SemaphoreSlim(200);
        var inFlight = new List<Task>();
        for (int i = 0; i < count; i++)
        {
            await window.WaitAsync();
            inFlight.Add(pub.PublishAsync(Message($"relay/{i % 100}", payload)).ContinueWith(_ => window.Release(), TaskScheduler.Default));
        }

        await Task.WhenAll(inFlight);
        await done.Task.WaitAsync(Deadline);
        return count / clock.Elapsed.TotalSeconds;
    }

    private static async Task<(string Holder, long Token)> HolderAsync(string connectionString, string site)
    {
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT holder, token FROM site_leases WHERE site = @s AND holder IS NOT NULL AND expires > now()", db);
        cmd.Parameters.AddWithValue("s", site);
        await using NpgsqlDataReader r = await cmd.ExecuteReaderAsync();
        return await r.ReadAsync() ? (r.GetString(0), r.GetInt64(1)) : (string.Empty, 0);
    }

    private static Task WaitAsync(Func<bool> condition, string what, TimeSpan? timeout = null, bool throwOnTimeout = true) =>
        WaitAsync(() => Task.FromResult(condition()), what, timeout, throwOnTimeout);

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, bool throwOnTimeout = true)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > (timeout ?? Deadline))
            {
                if (throwOnTimeout)
                {
                    throw new TimeoutException($"timed out waiting for {what}");
                }

                return;
            }

            await Task.Delay(20);
        }
    }

    private static int Count(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    private static void Report(string what, List<double> ms)
    {
        List<double> sorted = [.. ms.Order()];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: n {sorted.Count}, p50 {Ms(Percentile(sorted, 0.5))}, p99 {Ms(Percentile(sorted, 0.99))}, max {Ms(sorted.Count == 0 ? double.NaN : sorted[^1])}"));
    }
}
