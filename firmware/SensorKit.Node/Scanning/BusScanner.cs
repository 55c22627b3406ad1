using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;

namespace SensorKit.Node.Scanning;

/// <summary>A device that acknowledged its address.</summary>
/// <param name="Identity">What it said about itself, when a known identification method applies to the address.</param>
/// <param name="Candidates">Known chip types that can sit at this address.</param>
public sealed record FoundDevice(int Address, ChipIdentity? Identity, IReadOnlyList<string> Candidates)
{
    /// <summary>"bme280", "could be ads1115 or ina219", or "unknown device".</summary>
    public string Description => Identity is { Chip: { } chip } id
        ? $"{chip} ({id.Detail})"
        : Identity is { } unknown
            ? $"unidentified ({unknown.Detail})"
            : Candidates.Count > 0 ? $"could be {string.Join(" or ", Candidates)} (no chip id)" : "unknown device";
}

/// <summary>Everything that answered on one bus, by address.</summary>
public sealed record BusScan(int Bus, IReadOnlyList<FoundDevice> Devices);

public enum ConfiguredSensorState
{
    /// <summary>Answers at its address and, where the chip has an identity, is the configured type.</summary>
    Ok,

    /// <summary>Answers at its address, but its identity could not be read reliably.</summary>
    Unverified,

    /// <summary>Nothing answers at its address.</summary>
    Missing,

    /// <summary>Nothing at its address, but the same chip answers at another of its addresses.</summary>
    WrongAddress,

    /// <summary>A different chip answers at its address.</summary>
    WrongChip,
}

/// <summary>One configured sensor compared with what the bus shows.</summary>
public sealed record ConfiguredSensorCheck(string Id, string Type, int Bus, int Address, ConfiguredSensorState State, string Message)
{
    public bool IsProblem => State is ConfiguredSensorState.Missing or ConfiguredSensorState.WrongAddress or ConfiguredSensorState.WrongChip;
}

public sealed record ScanReport(IReadOnlyList<BusScan> Buses, IReadOnlyList<ConfiguredSensorCheck> Sensors)
{
    /// <summary>Devices that answer where no sensor is configured.</summary>
    public IEnumerable<(int Bus, FoundDevice Device)> Unexpected =>
        Buses.SelectMany(b => b.Devices
            .Where(d => !Sensors.Any(s => s.Bus == b.Bus && s.Address == d.Address))
            .Select(d => (b.Bus, d)));

    public bool ConfiguredSensorsAnswer => Sensors.All(s => !s.IsProblem);
}

/// <summary>
/// Probes a bus for the sensors the node knows, the way <c>i2cdetect</c> does, and reads each chip's
/// identity where it has one. Side-effect free: no configuration register is written, so a scan
/// leaves every chip as it found it.
/// </summary>
public sealed class BusScanner(II2cBusProvider buses, TimeProvider time)
{
    /// <summary>0x00-0x02 and 0x78-0x7F are reserved (I2C specification UM10204 §3.1.12).</summary>
    public const int FirstAddress = 0x03;
    public const int LastAddress = 0x77;

    public async Task<ScanReport> ScanAsync(IEnumerable<int> busNumbers, IReadOnlyList<SensorOptions> configured, CancellationToken ct)
    {
        var scans = new List<BusScan>();
        foreach (int bus in busNumbers.Distinct().Order())
        {
            scans.Add(await ScanBusAsync(bus, ct));
        }

        return new ScanReport(scans, Compare(scans, configured));
    }

    public async Task<BusScan> ScanBusAsync(int bus, CancellationToken ct)
    {
        var found = new List<FoundDevice>();
        for (int address = FirstAddress; address <= LastAddress; address++)
        {
            ct.ThrowIfCancellationRequested();

            // A one-byte read finds register-based chips. Sensirion chips acknowledge a read only after a
            // command prepared data, so where one can sit, its read-only command decides.
            bool answers = buses.Probe(bus, address);
            ChipIdentity? identity = await IdentifyAsync(bus, address, ct);
            if (answers || identity is not null)
            {
                found.Add(new FoundDevice(address, identity, CandidatesAt(address)));
            }
        }

        return new BusScan(bus, found);
    }

    /// <summary>Tries each identification method that applies to the address; null when none applies or nobody answered any.</summary>
    private async Task<ChipIdentity?> IdentifyAsync(int bus, int address, CancellationToken ct)
    {
        ChipIdentity? best = null;
        foreach (ChipIdentification.Method method in ChipIdentification.Methods.Where(m => m.Addresses.Contains(address)))
        {
            try
            {
                using var device = buses.Open(bus, address);
                ChipIdentity id = await method.Identify(device, time, ct);
                if (id.Chip is not null)
                {
                    return id;
                }

                // Keep a CRC failure over an unknown id: it says more about the wiring.
                best = best is null || id.ReadFailed ? id : best;
            }
            catch (IOException)
            {
                // No acknowledge to this method's transfer: not this chip (or nobody there).
            }
        }

        return best;
    }

    /// <summary>The chip types that can sit at an address: the node's catalog, chips the scan can identify, and id-less chips.</summary>
    public static IReadOnlyList<string> CandidatesAt(int address)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string name in SensorCatalog.Names)
        {
            if (SensorCatalog.Get(name).Addresses.Contains(address))
            {
                names.Add(name);
            }
        }

        foreach (ChipIdentification.Method m in ChipIdentification.Methods.Where(m => m.Addresses.Contains(address)))
        {
            // The BMP280 is recognised but is not a sensor a node can use.
            names.UnionWith(m.Recognises.Where(r => r != "bmp280"));
        }

        foreach ((string name, IReadOnlyList<int> addresses) in ChipIdentification.AddressOnlyChips)
        {
            if (addresses.Contains(address))
            {
                names.Add(name);
            }
        }

        return [.. names];
    }

    private static List<ConfiguredSensorCheck> Compare(IReadOnlyList<BusScan> scans, IReadOnlyList<SensorOptions> configured)
    {
        var checks = new List<ConfiguredSensorCheck>();
        foreach (SensorOptions s in configured)
        {
            SensorType type = SensorCatalog.Get(s.Type);
            int address = s.ParseAddress(type.DefaultAddress)!.Value;
            BusScan? scan = scans.FirstOrDefault(b => b.Bus == s.Bus);
            if (scan is null)
            {
                continue;
            }

            FoundDevice? there = scan.Devices.FirstOrDefault(d => d.Address == address);
            bool identifiable = ChipIdentification.Methods.Any(m => m.Addresses.Contains(address) && m.Recognises.Contains(type.Name));
            (ConfiguredSensorState state, string message) = there switch
            {
                null => Absent(scan, configured, type, address),
                { Identity.Chip: { } chip } when chip == type.Name => (ConfiguredSensorState.Ok, there.Identity!.Value.Detail),
                { Identity.Chip: { } chip } => (ConfiguredSensorState.WrongChip,
                    $"a {chip} answers at 0x{address:x2} ({there.Identity!.Value.Detail}), not a {type.Name}"),
                { Identity: { ReadFailed: true } id } => (ConfiguredSensorState.Unverified, $"answers, but {id.Detail}"),
                { Identity: { } id } when identifiable => (ConfiguredSensorState.WrongChip, $"something answers at 0x{address:x2}, but {id.Detail}"),
                _ when identifiable => (ConfiguredSensorState.Unverified, "answers, but did not answer the identity read"),
                _ => (ConfiguredSensorState.Ok, $"answers (a {type.Name} has no chip id to check)"),
            };
            checks.Add(new ConfiguredSensorCheck(s.EffectiveId, type.Name, s.Bus, address, state, message));
        }

        return checks;
    }

    private static (ConfiguredSensorState, string) Absent(BusScan scan, IReadOnlyList<SensorOptions> configured, SensorType type, int address)
    {
        // The same chip at another of its strap addresses that no other sensor claims: the strap or the configuration is wrong.
        FoundDevice? elsewhere = scan.Devices.FirstOrDefault(d =>
            d.Address != address
            && type.Addresses.Contains(d.Address)
            && (d.Identity?.Chip == type.Name || (d.Identity is null && d.Candidates.Contains(type.Name)))
            && !configured.Any(o => o.Bus == scan.Bus && SensorCatalog.TryGet(o.Type, out SensorType t) && o.ParseAddress(t.DefaultAddress) == d.Address));
        if (elsewhere is not null)
        {
            return (ConfiguredSensorState.WrongAddress,
                $"nothing answers at 0x{address:x2}, but a {type.Name} answers at 0x{elsewhere.Address:x2}: set Address to 0x{elsewhere.Address:x2} or change the address strap");
        }

        return (ConfiguredSensorState.Missing,
            $"nothing answers at 0x{address:x2}: check power, SDA/SCL wiring and the address strap ({type.Name} answers at {string.Join(" or ", type.Addresses.Select(a => $"0x{a:x2}"))})");
    }
}
