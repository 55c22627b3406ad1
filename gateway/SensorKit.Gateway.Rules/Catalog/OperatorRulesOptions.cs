namespace SensorKit.Gateway.Rules;

/// <summary>Technical alerts for the people running the network (audience operator), kept apart from hazards.</summary>
public sealed class OperatorRulesOptions
{
    public NodeOfflineOptions NodeOffline { get; set; } = new();

    public SensorFailedOptions SensorFailed { get; set; } = new();

    public StaleDataOptions StaleData { get; set; } = new();

    public ImplausibleDataOptions ImplausibleData { get; set; } = new();

    /// <summary>How often heartbeats, stale channels and pending area changes are checked.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>A node whose status says offline or lost, or that sent nothing for <see cref="Heartbeat"/>.</summary>
public sealed class NodeOfflineOptions
{
    public const string RuleId = "node-offline";

    public bool Enabled { get; set; } = true;

    /// <summary>Silence after which a node counts as offline. Nodes send status at least every Node:StatusInterval (60 s by default).</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a node must stay offline (or back online) before the alert is raised (or cleared); rides out a reboot.</summary>
    public TimeSpan Hold { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>A sensor that the node's status reports as failed.</summary>
public sealed class SensorFailedOptions
{
    public const string RuleId = "sensor-failed";

    public bool Enabled { get; set; } = true;

    /// <summary>The node already needs 3 failed reads in a row to say "failed"; this adds time on top.</summary>
    public TimeSpan Hold { get; set; } = TimeSpan.Zero;
}

/// <summary>A channel whose windows keep arriving flagged stuck or out of range: the rules cannot use them.</summary>
public sealed class ImplausibleDataOptions
{
    public const string RuleId = "implausible-data";

    public bool Enabled { get; set; } = true;

    /// <summary>How long a channel's windows must stay implausible; at least three of its windows are always allowed.</summary>
    public TimeSpan After { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>A channel that stopped updating while its node still talks, or whose aggregates are flagged stale.</summary>
public sealed class StaleDataOptions
{
    public const string RuleId = "stale-data";

    public bool Enabled { get; set; } = true;

    /// <summary>Silence of one channel after which it is stale; at least three of its windows are always allowed.</summary>
    public TimeSpan After { get; set; } = TimeSpan.FromMinutes(5);
}
