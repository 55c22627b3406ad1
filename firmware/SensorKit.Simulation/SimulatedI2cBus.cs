using System.Diagnostics.CodeAnalysis;
using System.Device.I2c;
using System.Reflection;
using SensorKit.Node.Sensors;
using SensorKit.Simulation.Emulators;

namespace SensorKit.Simulation;

/// <summary>Emulated chips on numbered buses; hands the real bindings an <see cref="EmulatedI2cDevice"/>.</summary>
public sealed class SimulatedI2cBus : II2cBusProvider
{
    /// <summary>The emulators of this assembly, by the sensor type their <see cref="SensorEmulatorAttribute"/> names.</summary>
    private static readonly Dictionary<string, Func<int, ChipEmulator>> Emulators = FindEmulators();

    private readonly Dictionary<(int Bus, int Address), ChipEmulator> _chips = [];
    private readonly Lock _lock = new();

    /// <summary>Sensor types that have an emulator.</summary>
    public static IEnumerable<string> EmulatedTypes => Emulators.Keys.Order(StringComparer.Ordinal);

    public static ChipEmulator CreateEmulator(string type, int address) =>
        Emulators.TryGetValue(type, out Func<int, ChipEmulator>? create)
            ? create(address)
            : throw new NotSupportedException($"no emulator for sensor type '{type}' (emulated: {string.Join(", ", EmulatedTypes)})");

    public void Attach(int bus, ChipEmulator chip)
    {
        lock (_lock)
        {
            if (!_chips.TryAdd((bus, chip.Address), chip))
            {
                throw new InvalidOperationException($"bus {bus} already has a chip at 0x{chip.Address:x2}");
            }
        }
    }

    public ChipEmulator? Find(int bus, int address)
    {
        lock (_lock)
        {
            return _chips.GetValueOrDefault((bus, address));
        }
    }

    public I2cDevice Open(int bus, int address)
    {
        ChipEmulator chip = Find(bus, address) ?? new EmptyAddress(address);
        return new EmulatedI2cDevice(chip, new I2cConnectionSettings(bus, address));
    }

    // The trimmed publish roots this assembly whole (TrimmerRootAssembly in the firmware's publish profile), so the
    // emulator types and their constructors that this reflection looks for are all kept.
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "SensorKit.Simulation is a trimmer root assembly.")]
    [UnconditionalSuppressMessage("Trimming", "IL2065", Justification = "SensorKit.Simulation is a trimmer root assembly.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "SensorKit.Simulation is a trimmer root assembly.")]
    private static Dictionary<string, Func<int, ChipEmulator>> FindEmulators()
    {
        var found = new Dictionary<string, Func<int, ChipEmulator>>(StringComparer.OrdinalIgnoreCase);
        foreach (Type type in typeof(SimulatedI2cBus).Assembly.GetTypes())
        {
            if (type.GetCustomAttribute<SensorEmulatorAttribute>() is not { } emulates)
            {
                continue;
            }

            ConstructorInfo constructor = type.GetConstructors().SingleOrDefault(c =>
                    c.GetParameters() is [{ ParameterType: var first }, .. var rest] && first == typeof(int) && rest.All(p => p.IsOptional))
                ?? throw new InvalidOperationException($"{type.Name} needs a constructor (int address, optional parameters ...)");
            object?[] defaults = [.. constructor.GetParameters().Skip(1).Select(p => p.DefaultValue)];
            if (!found.TryAdd(emulates.SensorType, address => (ChipEmulator)constructor.Invoke([address, .. defaults])))
            {
                throw new InvalidOperationException($"two emulators for sensor type '{emulates.SensorType}'");
            }
        }

        return found;
    }

    /// <summary>Nobody at this address: every transfer is NACKed, as on a real bus.</summary>
    private sealed class EmptyAddress : ChipEmulator
    {
        public EmptyAddress(int address)
            : base(address) => Faults = ChipFault.Nack;

        public override IReadOnlyList<string> Quantities => [];

        protected internal override void OnRead(Span<byte> buffer) => throw new InvalidOperationException("unreachable: always NACKs");

        protected internal override void OnWrite(ReadOnlySpan<byte> data) => throw new InvalidOperationException("unreachable: always NACKs");

        protected override void PowerOnReset()
        {
        }
    }
}
