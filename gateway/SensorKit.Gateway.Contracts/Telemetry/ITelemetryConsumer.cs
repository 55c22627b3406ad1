using SensorKit.Protocol;

namespace SensorKit.Gateway.Contracts;

/// <summary>
/// Where validated telemetry goes besides the rules (<see cref="ITelemetryEvaluator"/>): the gateway's side of the node's <c>IAggregateSink</c>.
/// Registered in DI (every <see cref="ITelemetryConsumer"/> is called, in registration order).
/// </summary>
/// <remarks>
/// The ingest (TelemetryIngest) calls <see cref="OnWindow"/> inside the broker's PUBLISH handling, before the PUBACK,
/// for every window that passed validation and comes from a known node. That includes windows the rules skip as not
/// newer than the channel's last one: backfill from a node's outbox and out-of-order windows are real data, and
/// telling them from a QoS 1 redelivery needs the consumer's own store, so a consumer deduplicates on its own key.
/// A consumer must return fast (it holds up the publisher) and should not throw: an exception is counted and logged
/// by the ingest, and the window still counts as accepted because the rules took it.
/// </remarks>
public interface ITelemetryConsumer
{
    /// <summary>A short name for logs and metrics, e.g. "history".</summary>
    string Name { get; }

    void OnWindow(in TelemetryMessage window);
}
