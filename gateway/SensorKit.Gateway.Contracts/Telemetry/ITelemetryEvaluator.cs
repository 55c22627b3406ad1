using SensorKit.Protocol;

namespace SensorKit.Gateway.Contracts;

/// <summary>What became of one telemetry message.</summary>
public enum TelemetryOutcome
{
    Evaluated,

    /// <summary>A window the gateway has already seen (a QoS 1 redelivery, a retained copy): ignored.</summary>
    Duplicate,
}

/// <summary>
/// The telemetry consumer whose verdict counts: the rules. The ingest hands it every validated window from a known
/// node and every validated status, and counts a window it calls <see cref="TelemetryOutcome.Duplicate"/> as a
/// duplicate (the rules know which windows each channel has seen, backfill after an outage included).
/// </summary>
public interface ITelemetryEvaluator
{
    /// <summary>Evaluates one validated telemetry message from a known node.</summary>
    TelemetryOutcome OnTelemetry(in TelemetryMessage m, long receivedTimestamp = 0);

    /// <summary>Takes a validated node status (the fleet directory already holds it): online state and sensor health.</summary>
    void OnStatus(NodeStatusMessage status);
}
