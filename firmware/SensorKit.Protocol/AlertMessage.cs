namespace SensorKit.Protocol;

/// <summary>An alert lifecycle message (docs/protocol.md, "alerts").</summary>
public sealed record AlertMessage
{
    public const string Schema = "sensorkit.alert.v1";

    /// <summary>Stable id of the alert from raise to clear; every follow-up carries the same id.</summary>
    public required string AlertId { get; init; }
    public required string Rule { get; init; }
    public required AlertState State { get; init; }

    /// <summary>public: a hazard for the population. operator: a technical alert for the people running the network.</summary>
    public required AlertAudience Audience { get; init; }

    public required string Site { get; init; }
    public required string Subject { get; init; }
    public required IReadOnlyList<string> Nodes { get; init; }
    public required string Quantity { get; init; }
    public required string Unit { get; init; }

    /// <summary>The value that caused this message (the last evaluated aggregate).</summary>
    public required double Value { get; init; }
    public required double Threshold { get; init; }
    public double Hysteresis { get; init; }

    /// <summary>CAP 1.2 vocabulary (§3.2.2) so the JSON and the CAP message agree.</summary>
    public required string Severity { get; init; }
    public required string Certainty { get; init; }
    public required string Urgency { get; init; }

    public required string Headline { get; init; }
    public required DateTimeOffset Time { get; init; }
    public required DateTimeOffset RaisedAt { get; init; }

    /// <summary>Counts the messages of this alert: 1 for the raise, then +1 per update or clear.</summary>
    public required int Revision { get; init; }

    /// <summary>CAP 1.2 §3.2.1 status of this message: Actual, Exercise (drills, simulation) or System (network-internal).</summary>
    public string Status { get; init; } = "Actual";

    /// <summary>What <see cref="Value"/> and <see cref="Threshold"/> are: value (a window mean), change (over the rule's window) or deviation (percent from a rolling baseline).</summary>
    public string Measure { get; init; } = "value";

    /// <summary>How many agreeing nodes confirm the alert (1 unless the rule corroborates across an area).</summary>
    public int Quorum { get; init; } = 1;

    /// <summary>How many nodes of the area report the rule's quantity; with <see cref="Quorum"/> it says how strong the evidence is.</summary>
    public int NodesReporting { get; init; } = 1;

    /// <summary>Identifier of the CAP message that carries the same step, when one was published.</summary>
    public string? CapIdentifier { get; init; }
}

public enum AlertState
{
    Raised,
    Updated,
    Cleared,

    /// <summary>Withdrawn by an operator, e.g. raised in error (CAP msgType Cancel).</summary>
    Cancelled,
}

public enum AlertAudience
{
    Public,
    Operator,
}
