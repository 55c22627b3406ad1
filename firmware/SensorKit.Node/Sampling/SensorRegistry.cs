using Microsoft.Extensions.Options;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;

namespace SensorKit.Node.Sampling;

/// <summary>All configured sensors of this node, built from validated options.</summary>
public sealed class SensorRegistry
{
    public SensorRegistry(IOptions<NodeOptions> options)
    {
        NodeOptions o = options.Value;
        Slots = o.Sensors
            .Select(s =>
            {
                SensorType type = SensorCatalog.Get(s.Type);
                return new SensorSlot(s, type, s.ParseAddress(type.DefaultAddress)!.Value, o);
            })
            .ToArray();
    }

    public IReadOnlyList<SensorSlot> Slots { get; }

    /// <summary>Raised after any sensor's health changed, so the status can be republished.</summary>
    public event Action? HealthChanged;

    internal void OnHealthChanged() => HealthChanged?.Invoke();
}
