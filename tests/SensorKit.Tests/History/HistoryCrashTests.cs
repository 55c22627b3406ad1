using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using MQTTnet;
using MQTTnet.Exceptions;
using SensorKit.Gateway.History;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using static SensorKit.Tests.History.HistoryData;

namespace SensorKit.Tests.History;

/// <summary>The real gateway executable, killed with kill -9 while a node publishes: nothing acknowledged is lost.</summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class HistoryCrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_gateway_killed_with_kill_9_loses_no_window_it_acknowledged()
    {
        int port = FreePort.Get();
        string state = TestDirectories.Create("history-kill");
        TestAccount account = TestAccounts.Node(port, "test", "k1");
        DateTimeOffset start = DateTimeOffset.FromUnixTimeSeconds((DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 * 60) - (3 * 86_400));
        const int Windows = 4000;
        var acked = new ConcurrentBag<long>();
        using var buffer = new PayloadBuffer();
        byte[][] payloads = [.. Enumerable.Range(1, Windows).Select(i => buffer.Telemetry(Window("k1", start.AddMinutes(i), i, mean: i % 40)).ToArray())];
        string topic = Topics.Telemetry("test", "k1", "bme280", Quantities.Temperature);

        // The writer commits only every 5 s here, so the kill finds acknowledged windows that are only in the journal.
        ExecutableProcess gateway = ExecutableProcess.Gateway([.. Arguments(port, state), "--History:FlushInterval", "00:00:05", "--History:BatchSize", "100000"]);
        int inDatabaseAtKill;
        try
        {
            await using (MqttProbe node = await ConnectAsync(port, account, gateway))
            {
                Assert.True((await node.PublishAsync(Topics.Status("test", "k1"), Status("k1"))).IsSuccess);
                var inFlight = new List<Task>();
                using var window = new SemaphoreSlim(50);
                for (int i = 0; i < Windows; i++)
                {
                    if (acked.Count >= Windows / 2)
                    {
                        await gateway.KillAsync();
                        break;
                    }

                    await window.WaitAsync(TestContext.Current.CancellationToken);
                    inFlight.Add(PublishAsync(node, topic, payloads[i], i + 1, acked, window));
                }

                await Task.WhenAll(inFlight).WaitAsync(Timeout, TestContext.Current.CancellationToken);
            }

            Assert.True(gateway.HasExited, "the gateway was killed");
            inDatabaseAtKill = Sequences(state).Count;
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        Assert.True(acked.Count > inDatabaseAtKill, $"{acked.Count} acknowledged, {inDatabaseAtKill} in the database at the kill: the kill should find windows only in the journal");

        // Restarted on the same folder: the journal is replayed; a clean stop then writes what is left.
        ExecutableProcess again = ExecutableProcess.Gateway(Arguments(port, state));
        try
        {
            await using (MqttProbe node = await ConnectAsync(port, account, again))
            {
                Assert.True((await node.PublishAsync(topic, payloads[0])).IsSuccess);
            }

            await again.StopAsync(Timeout);
            Assert.True(again.ExitCode == 0, again.Output);
        }
        finally
        {
            await again.DisposeAsync();
        }

        HashSet<long> stored = Sequences(state);
        long[] lost = [.. acked.Where(s => !stored.Contains(s)).Order()];
        Assert.True(lost.Length == 0, $"acknowledged but not in the history: {string.Join(", ", lost.Take(20))} ({lost.Length} of {acked.Count})");
        Assert.Subset(Enumerable.Range(1, Windows).Select(i => (long)i).ToHashSet(), stored);
        Assert.Empty(Directory.GetFiles(Path.Combine(state, HistoryJournal.FolderName)));
        TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kill -9: {acked.Count} windows acknowledged, {inDatabaseAtKill} of them in the database at the kill, {acked.Count - inDatabaseAtKill} only in the journal; after the restart {stored.Count} stored, 0 lost"));
    }

    [Fact]
    public async Task The_gateway_executable_exits_2_naming_a_bad_history_key()
    {
        int port = FreePort.Get();
        await using ExecutableProcess gateway = ExecutableProcess.Gateway([.. Arguments(port, TestDirectories.Create("history-bad")), "--History:RawRetention", "00:10:00"]);

        await gateway.WaitForExitAsync(Timeout);

        Assert.Equal(2, gateway.ExitCode);
        Assert.Equal("invalid configuration: History:RawRetention: 00:10:00 must be at least an hour (rollups are hourly)", gateway.Output.Trim());
    }

    private static string[] Arguments(int port, string state) =>
    [
        "--Broker:Address", "127.0.0.1",
        "--Broker:Port", port.ToString(CultureInfo.InvariantCulture),
        "--Broker:AccountsFile", TestAccounts.FileFor(port),
        "--State:Directory", state,
        "--CapFeed:Enabled", "false",
        "--Cap:Web", "https://warnings.example/alerts/{alertId}",
        "--Cap:Signing:CertificateFile", ExampleSigningKey.CertificateFile,
        "--Cap:Signing:KeyFile", ExampleSigningKey.KeyFile,
        "--Logging:LogLevel:Default", "Warning",
    ];

    private static async Task PublishAsync(MqttProbe node, string topic, byte[] payload, long seq, ConcurrentBag<long> acked, SemaphoreSlim window)
    {
        try
        {
            if ((await node.PublishAsync(topic, payload)).IsSuccess)
            {
                acked.Add(seq);
            }
        }
        catch (Exception e) when (e is MqttCommunicationException or OperationCanceledException)
        {
            // The gateway was killed with this one in flight: not acknowledged, so the node would keep it.
        }
        finally
        {
            window.Release();
        }
    }

    /// <summary>Connects once the gateway listens (it opens the broker after the history and the state are loaded).</summary>
    private static async Task<MqttProbe> ConnectAsync(int port, TestAccount account, ExecutableProcess gateway)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await MqttProbe.StartAsync(port, filter: null, account: account);
            }
            catch (MqttCommunicationException) when (clock.Elapsed < Timeout && !gateway.HasExited)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }
    }

    private static HashSet<long> Sequences(string state)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(state, SqliteTelemetryHistory.FileName), Pooling = false }.ToString());
        db.Open();
        using SqliteCommand cmd = db.CreateCommand();
        cmd.CommandText = "SELECT seq FROM windows";
        using SqliteDataReader r = cmd.ExecuteReader();
        var seqs = new HashSet<long>();
        while (r.Read())
        {
            seqs.Add(r.GetInt64(0));
        }

        return seqs;
    }

    private static byte[] Status(string node) => Encoding.UTF8.GetBytes($$"""
        {"schema":"sensorkit.status.v1","site":"test","node":"{{node}}","state":"online","time":"2026-07-01T12:00:00Z",
         "location":{"lat":50.94,"lon":6.96},"sensors":[{"id":"bme280","type":"bme280","bus":1,"address":"0x76","health":"ok","consecutiveFailures":0}]}
        """);
}
