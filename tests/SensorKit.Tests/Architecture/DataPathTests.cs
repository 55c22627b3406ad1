using System.Reflection;
using SensorKit.Gateway;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Rules;
using SensorKit.Protocol;

namespace SensorKit.Tests.Architecture;

/// <summary>
/// The data path runs sensors → sampling → pipeline → publishing → broker → ingest → rules → alerts → outputs
/// (docs/architecture.md). These tests read the assemblies' metadata and fail on any import that runs against it:
/// a stage using a later one (Ingest → Rules, Rules → Alerts), a stage using an earlier one's implementation instead
/// of its contract (Alerts → Ingest internals), firmware using the gateway. Each failure names the type, what it
/// uses, and where.
/// </summary>
public sealed class DataPathTests
{
    private static readonly Assembly Gateway = typeof(GatewayHost).Assembly;
    private static readonly Assembly Rules = typeof(RuleEngine).Assembly;
    private static readonly Assembly Contracts = typeof(IAlertSink).Assembly;
    private static readonly Assembly Protocol = typeof(TelemetryMessage).Assembly;
    private static readonly Assembly Node = typeof(SensorKit.Node.NodeHost).Assembly;
    private static readonly Assembly Simulation = typeof(SensorKit.Simulation.SimulatedI2cBus).Assembly;
    private static readonly Assembly Hosting = typeof(SensorKit.Hosting.HostRunner).Assembly;

    private static readonly Lazy<IReadOnlyList<AssemblyReferences>> s_read = new(() =>
        [.. new[] { Gateway, Rules, Contracts, Protocol, Node, Simulation, Hosting }.Select(AssemblyReferences.Read)]);

    [Fact]
    public void Firmware_and_shared_assemblies_reference_no_gateway_assembly()
    {
        var wrong = new List<string>();
        foreach (AssemblyReferences a in s_read.Value.Where(a => a.Name is "SensorKit.Node" or "SensorKit.Simulation" or "SensorKit.Protocol" or "SensorKit.Hosting"))
        {
            wrong.AddRange(a.References.Where(r => r.StartsWith("SensorKit.Gateway", StringComparison.Ordinal)).Select(r => $"{a.Name} references {r}"));
        }

        Assert.True(wrong.Count == 0, "Firmware and the shared assemblies must not reference the gateway:\n" + string.Join("\n", wrong));
    }

    [Theory]
    // The contracts between the gateway's stages: the wire contract and nothing else.
    [InlineData("SensorKit.Gateway.Contracts", new[] { "SensorKit.Protocol" })]
    // The rules: contracts, the wire contract and host glue; never an output (MQTT, HTTP, CAP, SQLite).
    [InlineData("SensorKit.Gateway.Rules", new[] { "SensorKit.Protocol", "SensorKit.Hosting", "SensorKit.Gateway.Contracts" })]
    [InlineData("SensorKit.Protocol", new string[0])]
    public void An_assembly_references_only_what_comes_before_it(string assembly, string[] allowed)
    {
        AssemblyReferences a = s_read.Value.Single(x => x.Name == assembly);
        string[] outputs = ["MQTTnet", "Microsoft.AspNetCore", "Microsoft.Data.Sqlite", "SQLitePCLRaw", "OpenTelemetry", "SensorKit.Gateway"];
        var wrong = a.References
            .Where(r => (r.StartsWith("SensorKit.", StringComparison.Ordinal) && !allowed.Contains(r))
                || outputs.Any(o => r.StartsWith(o, StringComparison.Ordinal) && !allowed.Contains(r)))
            .Select(r => $"{assembly} references {r}")
            .ToList();

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void No_import_runs_against_the_data_path()
    {
        Dictionary<string, TypeShape> shapes = s_read.Value.SelectMany(a => a.Types).GroupBy(t => t.FullName).ToDictionary(g => g.Key, g => g.First());
        List<string> wrong = [.. s_read.Value.SelectMany(a => a.Uses)
            .Select(use => (use, Why: DataPath.Violation(use, shapes)))
            .Where(v => v.Why is not null)
            .GroupBy(v => (v.use.From, v.use.To, v.Why))
            .Select(g => $"{g.Key.From} uses {g.Key.To} ({string.Join("; ", g.Select(v => v.use.Where).Distinct().Order(StringComparer.Ordinal).Take(3))}): {g.Key.Why}")
            .Order(StringComparer.Ordinal)];
        Assert.True(wrong.Count == 0, $"{wrong.Count} imports run against the data path (docs/architecture.md#dependencies):\n" + string.Join("\n", wrong));
    }

    [Fact]
    public void Every_gateway_namespace_has_its_place_on_the_data_path()
    {
        var unplaced = s_read.Value.SelectMany(a => a.Types)
            .Where(t => t.Namespace.StartsWith("SensorKit.Gateway", StringComparison.Ordinal) && DataPath.Place(t.Namespace, t.FullName) is null)
            .Select(t => $"{t.FullName} (namespace {t.Namespace})")
            .Distinct()
            .ToList();

        Assert.True(unplaced.Count == 0, "Place these in DataPath.Place (and docs/architecture.md):\n" + string.Join("\n", unplaced));
    }

    /// <summary>The check sees what it must see: references in method bodies too, not only in signatures.</summary>
    [Fact]
    public void The_reader_sees_references_in_signatures_and_method_bodies()
    {
        IReadOnlyList<TypeUse> gateway = s_read.Value.Single(a => a.Name == "SensorKit.Gateway").Uses;

        Assert.Contains(gateway, u => u.From == "SensorKit.Gateway.Ingest.TelemetryIngest" && u.To == "SensorKit.Gateway.Contracts.ITelemetryEvaluator");
        Assert.Contains(gateway, u => u.From == "SensorKit.Gateway.GatewayHost" && u.To == "SensorKit.Gateway.Rules.RuleEngine" && u.Where.StartsWith("body of", StringComparison.Ordinal));
        Assert.Contains(gateway, u => u.From == "SensorKit.Gateway.Alerts.Feed.CapFeedServer" && u.To == "SensorKit.Gateway.Contracts.IAlertCommands");
    }

    [Fact]
    public void A_forbidden_import_is_named_with_the_reason()
    {
        Dictionary<string, TypeShape> shapes = new()
        {
            ["SensorKit.Gateway.Rules.RuleEngine"] = new("SensorKit.Gateway.Rules.RuleEngine", "SensorKit.Gateway.Rules", IsContract: false),
            ["SensorKit.Gateway.Alerts.AlertLifecycle"] = new("SensorKit.Gateway.Alerts.AlertLifecycle", "SensorKit.Gateway.Alerts", IsContract: false),
            ["SensorKit.Gateway.Ingest.TelemetryIngest"] = new("SensorKit.Gateway.Ingest.TelemetryIngest", "SensorKit.Gateway.Ingest", IsContract: false),
            ["SensorKit.Gateway.Fleet.INodeStatusStore"] = new("SensorKit.Gateway.Fleet.INodeStatusStore", "SensorKit.Gateway.Fleet", IsContract: true),
        };

        static TypeUse Use(string from, string to) => new(from, from[..from.LastIndexOf('.')], to, to[..to.LastIndexOf('.')], "field x");

        Assert.Contains("later stage", DataPath.Violation(Use("SensorKit.Gateway.Ingest.TelemetryIngest", "SensorKit.Gateway.Rules.RuleEngine"), shapes));
        Assert.Contains("later stage", DataPath.Violation(Use("SensorKit.Gateway.Rules.RuleEngine", "SensorKit.Gateway.Alerts.AlertLifecycle"), shapes));
        Assert.Contains("implementation", DataPath.Violation(Use("SensorKit.Gateway.Alerts.AlertLifecycle", "SensorKit.Gateway.Ingest.TelemetryIngest"), shapes));
        Assert.Null(DataPath.Violation(Use("SensorKit.Gateway.State.SqliteAlertStore", "SensorKit.Gateway.Fleet.INodeStatusStore"), shapes));
        Assert.Null(DataPath.Violation(Use("SensorKit.Gateway.Alerts.AlertLifecycle", "SensorKit.Gateway.Contracts.IAlertSink"), shapes));
    }
}

/// <summary>Where each namespace stands on the data path, and which imports between places are allowed.</summary>
internal static class DataPath
{
    /// <summary>A place: a stage with its rank along the data path, or shared ground that every stage may use.</summary>
    internal sealed record Where(string Name, int Rank)
    {
        /// <summary>Used by every stage, uses none: the wire contract, the stage contracts, host glue, metrics, storage, the HTTP host.</summary>
        public bool Shared => Rank == SharedRank;

        /// <summary>The composition (GatewayHost, AlertingService): wires the stages, so it may use all of them; nothing uses it.</summary>
        public bool Composition => Rank == CompositionRank;
    }

    private const int SharedRank = -1;
    private const int CompositionRank = 1000;

    /// <summary>The place of a namespace; null for a gateway namespace nobody placed yet.</summary>
    public static Where? Place(string ns, string type)
    {
        static bool In(string ns, string root) => ns == root || ns.StartsWith(root + ".", StringComparison.Ordinal);

        return ns switch
        {
            _ when In(ns, "SensorKit.Protocol") => new("contract", SharedRank),
            _ when In(ns, "SensorKit.Hosting") => new("hosting", SharedRank),
            _ when In(ns, "SensorKit.Gateway.Contracts") => new("contracts", SharedRank),
            _ when In(ns, "SensorKit.Gateway.Health") => new("health", SharedRank),
            _ when In(ns, "SensorKit.Gateway.Storage") => new("storage", SharedRank),
            _ when In(ns, "SensorKit.Gateway.Http") => new("http", SharedRank),
            "SensorKit.Gateway" when type == "SensorKit.Gateway.GatewayConfigurationException" => new("hosting", SharedRank),
            "SensorKit.Gateway" => new("composition", CompositionRank),

            // Firmware stands before the broker as a whole (its assemblies reference no gateway assembly, checked above).
            // Its own stages (sensors → sampling → pipeline → publishing) are not placed yet: sampling still builds
            // the pipeline and publishing reads the sensor registry (docs/architecture.md#not-yet).

            // Gateway: broker → ingest → consumers (rules, history) → alerts (lifecycle, sinks, outputs).
            _ when In(ns, "SensorKit.Gateway.Broker") || In(ns, "SensorKit.Gateway.Connection") => new("broker", 100),
            _ when In(ns, "SensorKit.Gateway.Ingest") || In(ns, "SensorKit.Gateway.Fleet") => new("ingest", 200),
            _ when In(ns, "SensorKit.Gateway.Rules") => new("rules", 300),
            _ when In(ns, "SensorKit.Gateway.History") => new("history", 300),
            // Outputs/<Name>/ is where a new output goes: part of the alerts stage, so it needs no line here.
            _ when In(ns, "SensorKit.Gateway.Alerts") || In(ns, "SensorKit.Gateway.State") || In(ns, "SensorKit.Gateway.Outputs") => new("alerts", 400),
            _ when In(ns, "SensorKit.Gateway") => null,
            _ => new("elsewhere", SharedRank),
        };
    }

    /// <summary>Why <paramref name="use"/> runs against the data path; null when it may stand.</summary>
    public static string? Violation(TypeUse use, IReadOnlyDictionary<string, TypeShape> shapes)
    {
        Where? from = Place(use.FromNamespace, use.From);
        Where? to = Place(use.ToNamespace, use.To);
        if (from is null || to is null || from == to || to.Name == "elsewhere" || from.Name == "elsewhere")
        {
            return null;
        }

        if (from.Shared)
        {
            return to.Shared ? null : $"{from.Name} is shared ground and must not depend on the {to.Name} stage";
        }

        if (to.Shared || from.Composition)
        {
            return null;
        }

        if (to.Composition)
        {
            return $"the {from.Name} stage uses the composition ({to.Name}), which wires the stages";
        }

        if (to.Rank > from.Rank)
        {
            return $"the {from.Name} stage uses the later stage {to.Name}; hand data on through a contract the {from.Name} stage owns instead";
        }

        if (to.Rank == from.Rank)
        {
            return $"the {from.Name} and {to.Name} stages stand side by side and must not know each other";
        }

        // An earlier stage, through its contract only: an interface, enum, delegate or record it owns.
        bool contract = shapes.TryGetValue(use.To, out TypeShape? shape) && shape.IsContract;
        return contract ? null : $"the {from.Name} stage uses an implementation of the earlier stage {to.Name}; use its contract (an interface, enum or record it owns, or SensorKit.Gateway.Contracts)";
    }
}
