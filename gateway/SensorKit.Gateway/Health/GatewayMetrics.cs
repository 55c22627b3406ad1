using System.Diagnostics.Metrics;

namespace SensorKit.Gateway.Health;

/// <summary>
/// The gateway's counters, on one <see cref="System.Diagnostics.Metrics.Meter"/>; the HTTP endpoint exports them
/// in the Prometheus text format at <c>/metrics</c> (OpenTelemetry's exporter), and dotnet-counters reads them too.
/// Names follow OpenTelemetry's conventions; the exporter turns <c>sensorkit.gateway.messages.rejected</c> into
/// <c>sensorkit_gateway_messages_rejected_total</c>. docs/intake.md lists them.
/// </summary>
public static class GatewayMetrics
{
    public const string MeterName = "SensorKit.Gateway";

    public static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary>Telemetry and status messages taken into the gateway, by kind.</summary>
    public static readonly Counter<long> Accepted = Meter.CreateCounter<long>("sensorkit.gateway.messages.accepted", "{message}", "Messages validated and handed to the rules");

    /// <summary>Windows seen before (QoS 1 redelivery, retained copies).</summary>
    public static readonly Counter<long> Duplicates = Meter.CreateCounter<long>("sensorkit.gateway.messages.duplicate", "{message}", "Telemetry windows already seen, ignored");

    /// <summary>Messages refused, by reason; nothing refused reaches rule state.</summary>
    public static readonly Counter<long> Rejected = Meter.CreateCounter<long>("sensorkit.gateway.messages.rejected", "{message}", "Messages refused, by reason");

    /// <summary>Messages the broker dropped from a subscriber's full queue (never the gateway's own intake).</summary>
    public static readonly Counter<long> Dropped = Meter.CreateCounter<long>("sensorkit.gateway.messages.dropped", "{message}", "Messages dropped from a slow subscriber's queue");

    /// <summary>Alert steps (raise, update, all-clear, cancel), by state and audience.</summary>
    public static readonly Counter<long> SiteTakeovers = Meter.CreateCounter<long>("sensorkit.gateway.group.sites_taken", "{site}", "Sites this group member took over");

    public static readonly Counter<long> FencedPublishes = Meter.CreateCounter<long>("sensorkit.gateway.group.fenced_publishes", "{message}", "Alert messages not published because the site's lease had run out; the next holder sends them");

    public static readonly Counter<long> AlertSteps = Meter.CreateCounter<long>("sensorkit.gateway.alert.steps", "{step}", "Alert steps taken");

    /// <summary>CAP messages of long-running alerts re-issued before they expire (no alert step: nothing changed).</summary>
    public static readonly Counter<long> CapReissues = Meter.CreateCounter<long>("sensorkit.gateway.cap.reissues", "{message}", "CAP messages re-issued before they expire");

    /// <summary>From a message's arrival at the gateway to the end of its evaluation.</summary>
    public static readonly Histogram<double> IngestLag = Meter.CreateHistogram<double>("sensorkit.gateway.ingest.lag", "ms", "From a message's arrival to the end of its evaluation");

    /// <summary>Connections and packets the embedded broker refused, by reason.</summary>
    public static readonly Counter<long> BrokerRefused = Meter.CreateCounter<long>("sensorkit.gateway.broker.refused", "{event}", "Connections and packets the embedded broker refused, by reason");

    /// <summary>Failures of periodic work (state flush, operator checks), which is retried on the next tick.</summary>
    public static readonly Counter<long> BackgroundFailures = Meter.CreateCounter<long>("sensorkit.gateway.background.failures", "{failure}", "Failures of periodic work, retried");
}
