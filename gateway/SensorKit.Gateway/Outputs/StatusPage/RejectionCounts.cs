using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using SensorKit.Gateway.Health;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>
/// Messages and connections the gateway refused, by reason, for the operator view: a listener on the gateway's own
/// counters (the same ones /metrics exports), so nothing in the ingest changes for it.
/// </summary>
internal sealed class RejectionCounts : IDisposable
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly MeterListener _listener = new();

    public RejectionCounts()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == GatewayMetrics.Meter && instrument.Name is "sensorkit.gateway.messages.rejected" or "sensorkit.gateway.broker.refused")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string reason = "?";
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "reason")
                {
                    reason = tag.Value?.ToString() ?? "?";
                }
            }

            string what = instrument.Name.EndsWith("refused", StringComparison.Ordinal) ? "broker" : "ingest";
            _counts.AddOrUpdate($"{what}: {reason}", value, (_, old) => old + value);
        });
        _listener.Start();
    }

    public IReadOnlyList<(string Reason, long Count)> Snapshot() =>
        [.. _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value))];

    public void Dispose() => _listener.Dispose();
}
