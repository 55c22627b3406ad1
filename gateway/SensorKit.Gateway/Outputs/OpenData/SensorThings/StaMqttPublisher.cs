using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Hosting;
using SensorKit.Protocol;
using SensorKit.Gateway.Fleet;
using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Outputs.OpenData.SensorThings;

/// <summary>
/// SensorThings MQTT, receiving updates (OGC 18-088 §14.2, Annex A.8): every accepted window is published on the
/// embedded broker as its Observation, in the JSON the API returns, on <c>v1.1/Datastreams('id')/Observations</c>.
/// The broker lets every client read <c>v1.1/#</c> and only the gateway's own account write it
/// (<see cref="BrokerAuthorization.SensorThingsFilter"/>). Windows wait in a bounded queue, so the node's PUBLISH is
/// never held up; when the queue is full the newest is dropped and counted.
/// </summary>
public sealed partial class StaMqttPublisher(
    IOptions<OpenDataOptions> options,
    BrokerEndpoint broker,
    IServiceProvider services,
    StaService sta,
    IFleet nodes,
    NodePositionLog positions,
    TimeProvider time,
    ILogger<StaMqttPublisher> logger) : BackgroundService, ITelemetryConsumer
{
    public const int QueueLength = 10_000;

    private readonly bool _enabled = Publishes(options.Value, broker);
    private readonly Channel<TelemetryMessage> _queue = Channel.CreateBounded<TelemetryMessage>(new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly LogLimiter _logLimit = new(time, TimeSpan.FromMinutes(1));
    private long _published;
    private long _dropped;

    public string Name => "open-data-mqtt";

    public long Published => Interlocked.Read(ref _published);

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Observations go out on the embedded broker only: on an external one the gateway holds no rights over v1.1/.</summary>
    public static bool Publishes(OpenDataOptions o, BrokerEndpoint broker) => o.Enabled && o.MqttEnabled && broker.Embedded;

    /// <summary>The topic a datastream's new observations come on.</summary>
    public static string Topic(string datastreamId) => $"{StaSchema.Version}/Datastreams('{datastreamId.Replace("'", "''", StringComparison.Ordinal)}')/Observations";

    public void OnWindow(in TelemetryMessage window)
    {
        if (_enabled && !_queue.Writer.TryWrite(window))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_enabled)
        {
            return;
        }

        // Resolved here, not injected: the broker's intake is the ingest, whose consumers include this.
        IGatewayPublisher embedded = services.GetRequiredService<IGatewayPublisher>();
        try
        {
            await foreach (TelemetryMessage m in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                // One window that cannot be turned into an Observation or published is counted and logged within
                // the limit; it never ends the loop (a background service that throws stops the gateway).
                try
                {
                    await PublishAsync(m, embedded, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Interlocked.Increment(ref _dropped);
                    if (_logLimit.TryEnter(e.GetType().Name, out long suppressed))
                    {
                        LogPublishFailed($"{m.Site}/{m.Node}/{m.Sensor}/{m.Quantity}", e.Message, suppressed);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    private async Task PublishAsync(TelemetryMessage m, IGatewayPublisher embedded, CancellationToken stoppingToken)
    {
        // A node that moved gets its HistoricalLocation without waiting for an API request.
        if (nodes.Get(m.Site, m.Node) is { } status)
        {
            positions.Observe(status);
        }

        var channel = new HistoryChannel(0, m.Site, m.Node, m.Sensor, m.Quantity, m.Unit);
        StaEntity observation = StaCatalog.Observation(new HistoryRow
        {
            Channel = channel,
            Kind = HistoryRowKind.Window,
            Start = m.WindowStart,
            End = m.WindowEnd,
            Windows = 1,
            Count = m.Count,
            Min = m.Min,
            Max = m.Max,
            Mean = m.Mean,
            StdDev = m.StdDev,
            Flags = m.Flags,
        });
        if (sta.ObservationJson(observation) is not { } payload)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        MqttApplicationMessage message = new MqttApplicationMessageBuilder()
            .WithTopic(Topic(StaCatalog.DatastreamId(channel)))
            .WithPayload(payload)
            .WithContentType("application/json")
            .Build();
        if (await embedded.PublishAsGatewayAsync(message, stoppingToken))
        {
            Interlocked.Increment(ref _published);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SensorThings observation of {Channel} not published: {Reason} ({Suppressed} more held back)")]
    private partial void LogPublishFailed(string channel, string reason, long suppressed);
}
