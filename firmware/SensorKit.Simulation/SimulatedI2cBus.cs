using System.Device.I2c;
using SensorKit.Node.Sensors;
using SensorKit.Simulation.Emulators.Ads1115;
using SensorKit.Simulation.Emulators.Bh1750;
using SensorKit.Simulation.Emulators.Bme280;
using SensorKit.Simulation.Emulators.Bme680;
using SensorKit.Simulation.Emulators.Ina219;
using SensorKit.Simulation.Emulators.Scd4x;
using SensorKit.Simulation.Emulators.Sht3x;
using SensorKit.Simulation.Emulators.Sht4x;
using SensorKit.Simulation.Emulators.Vl53L0X;
using SensorKit.Simulation.Emulators;

namespace SensorKit.Simulation;

/// <summary>Emulated chips on numbered buses; hands the real bindings an <see cref="EmulatedI2cDevice"/>.</summary>
public sealed class SimulatedI2cBus : II2cBusProvider
{
    private static readonly Dictionary<string, Func<int, ChipEmulator>> Emulators = new(StringComparer.OrdinalIgnoreCase)
    {
        ["bme280"] = address => new Bme280Emulator(address),
        ["bme680"] = address => new Bme680Emulator(address),
        ["sht3x"] = address => new Sht3xEmulator(address),
        ["sht4x"] = address => new Sht4xEmulator(address),
        ["scd4x"] = address => new Scd4xEmulator(address),
        ["ads1115"] = address => new Ads1115Emulator(address),
        ["vl53l0x"] = address => new Vl53L0XEmulator(address),
        ["ina219"] = address => new Ina219Emulator(address),
        ["bh1750"] = address => new Bh1750Emulator(address),
    };

    private readonly Dictionary<(int Bus, int Address), ChipEmulator> _chips = [];
    private readonly Lock _lock = new();

    /// <summary>Sensor types that have an emulator.</summary>
    public static IEnumerable<string> EmulatedTypes => Emulators.Keys;

    public static ChipEmulator CreateEmulator(string type, int address) =>
        Emulators.TryGetValue(type, out Func<int, ChipEmulator>? create)
            ? create(address)
            : throw new NotSupportedException($"no emulator for sensor type '{type}' (emulated: {string.Join(", ", Emulators.Keys)})");

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
