using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MQTTnet.Packets;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.Broker.Accounts;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Sessions;

/// <summary>
/// The broker under test: the gateway's embedded one, or a real Mosquitto, both on loopback. Messages go on alert
/// topics, which the embedded broker routes like any broker (node topics go to the intake first): published through
/// a gateway account there, anonymously on Mosquitto; subscribers are anonymous loopback clients on both.
/// </summary>
internal sealed class InteropBroker : IAsyncDisposable
{
    public const string Embedded = "embedded";
    public const string Mosquitto = "mosquitto";

    private readonly IHost? _gateway;
    private readonly MosquittoBroker? _mosquitto;
    private readonly List<TestAccount> _publishers = [];

    private InteropBroker(string name, int port, IHost? gateway, MosquittoBroker? mosquitto)
    {
        Name = name;
        Port = port;
        _gateway = gateway;
        _mosquitto = mosquitto;
    }

    public static TheoryData<string> Both => [Embedded, Mosquitto];

    public string Name { get; }

    public int Port { get; }

    /// <summary>The embedded broker; null for Mosquitto.</summary>
    public EmbeddedBroker? Gateway => _gateway?.Services.GetRequiredService<EmbeddedBroker>();

    /// <param name="embeddedConfig">Broker settings for the gateway (keys under "Broker:").</param>
    /// <param name="mosquittoConfig">Lines for mosquitto.conf.</param>
    public static async Task<InteropBroker> StartAsync(string name, Dictionary<string, string?>? embeddedConfig = null, string mosquittoConfig = "")
    {
        if (name == Mosquitto)
        {
            MosquittoBroker mosquitto = await MosquittoBroker.StartAsync(mosquittoConfig);
            return new InteropBroker(name, mosquitto.Port, null, mosquitto);
        }

        int port = FreePort.Get();
        Dictionary<string, string?> config = Hosts.GatewayConfig(port);
        foreach ((string key, string? value) in embeddedConfig ?? [])
        {
            config[key] = value;
        }

        IHost gateway = Hosts.Gateway(config);
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        return new InteropBroker(name, port, gateway, null);
    }

    /// <summary>A topic of its own for each test, under the alerts a gateway account may publish.</summary>
    public static string Topic(string test) => $"sensorkit/v1/interop/alerts/event/{test}/{Guid.NewGuid():N}";

    /// <summary>A CONNECT for a client that publishes: a gateway account of its own on the embedded broker (its name is the client id).</summary>
    public MqttConnectPacket Publisher(bool cleanStart = true)
    {
        if (_gateway is null)
        {
            return WireClient.Connect($"interop-pub-{Guid.NewGuid():N}", cleanStart);
        }

        TestAccount account;
        lock (_publishers)
        {
            account = TestAccounts.Add(Port, $"interop-pub-{_publishers.Count.ToString(CultureInfo.InvariantCulture)}", AccountRole.Gateway);
            _publishers.Add(account);
        }

        return WireClient.Connect(account.ClientId, cleanStart, account: (account.Name, account.Password));
    }

    public async Task<WireClient> PublisherAsync() => await WireClient.ConnectAsync(Port, Publisher());

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.StopAsync(TestContext.Current.CancellationToken);
            _gateway.Dispose();
        }

        if (_mosquitto is not null)
        {
            await _mosquitto.DisposeAsync();
        }
    }
}
