using SensorKit.Protocol;

namespace SensorKit.Gateway.Contracts;

/// <summary>
/// How strongly an alert holds right now. Any change of it is an update; level 0 means it has ended.
/// <see cref="Members"/> names what it rests on (nodes, or sensors and channels for operator alerts), so
/// a node joining or leaving is a change too.
/// </summary>
public readonly record struct Grade(int Level, bool Confirmed, string Members)
{
    public static readonly Grade None = new(0, false, string.Empty);

    public bool IsActive => Level > 0;
}

/// <summary>The facts behind one alert message: which nodes, what was measured, against what.</summary>
public sealed record AlertEvidence
{
    public required IReadOnlyList<string> Nodes { get; init; }

    public required string Quantity { get; init; }

    public required string Unit { get; init; }

    /// <summary>The measure of the node that weighs most (the highest, or lowest for a fall).</summary>
    public required double Value { get; init; }

    /// <summary>The threshold of the current level, in the measure's unit.</summary>
    public required double Threshold { get; init; }

    /// <summary>Nodes of the area that report the quantity.</summary>
    public int NodesReporting { get; init; } = 1;

    /// <summary>What an operator alert is about, e.g. the failed sensors' ids.</summary>
    public IReadOnlyList<string> Detail { get; init; } = [];
}

/// <summary>How one grade is classed for the public (the outputs map it to CAP 1.2 §3.2.2 values).</summary>
public readonly record struct GradeInfo(AlertSeverity Severity, AlertCertainty Certainty, AlertUrgency Urgency, IReadOnlyList<AlertResponse> ResponseTypes);

/// <summary>
/// Everything the alert stage needs to know about a rule to publish its alerts: its id, audience, grading and
/// texts. Rules implement it; outputs read it (and map the plain enums to CAP, JSON, ...).
/// </summary>
public abstract class AlertDefinition
{
    public const string German = "de-DE";
    public const string English = "en-US";

    /// <summary>The languages of every CAP message: German for the public, English for everyone else.</summary>
    public static readonly string[] Languages = [German, English];

    public abstract string Id { get; }

    public abstract AlertAudience Audience { get; }

    public abstract AlertCategory Category { get; }


    public virtual int Quorum => 1;

    public virtual double Hysteresis => 0;

    public virtual double RadiusKm => 1.0;

    public abstract GradeInfo Describe(Grade grade);

    public abstract string Event(Grade grade, string language);

    public abstract string Headline(Grade grade, string language, AlertEvidence evidence);

    /// <summary>What to do while the alert holds; every CAP info carries one (the Google Public Alerts profile asks for it).</summary>
    public abstract string Instruction(Grade grade, string language);

    /// <summary>The instruction of the all-clear.</summary>
    public virtual string ClearedInstruction(string language) => (Audience, IsGerman(language)) switch
    {
        (AlertAudience.Operator, true) => "Die Störung ist behoben; keine weiteren Maßnahmen nötig.",
        (AlertAudience.Operator, false) => "The fault has cleared; no further action needed.",
        (_, true) => "Die Gefahr ist vorüber. Weitere Hinweise der Behörden beachten.",
        _ => "The danger has passed. Follow any further advice from the authorities.",
    };

    /// <summary>How long a message of an active alert of this rule is valid; null: Cap:Expires.</summary>
    public virtual TimeSpan? Expires => null;

    public abstract string Description(Grade grade, string language, AlertEvidence evidence);

    /// <summary>The measure's name on the wire ("measure" of docs/protocol.md): "value", "change", "deviation".</summary>
    public abstract string MeasureName { get; }

    protected static bool IsGerman(string language) => language.StartsWith("de", StringComparison.OrdinalIgnoreCase);
}
