using SensorKit.Gateway.Contracts;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// The technical alerts about the network itself: audience operator, CAP category Infra, scope Restricted.
/// They tell the control room that a part of the network is blind, never that the public is in danger.
/// </summary>
/// <remarks>
/// Each definition gives its texts as German and English pairs (<see cref="Words"/>; the headline with "{0}" for
/// the node), so the repeated language switch lives here once.
/// </remarks>
internal abstract class OperatorDefinition(string id, OperatorDefinition.Words @event, OperatorDefinition.Words headline, OperatorDefinition.Words instruction) : AlertDefinition
{
    public override string Id => id;

    public override AlertAudience Audience => AlertAudience.Operator;

    public override AlertCategory Category => AlertCategory.Infra;

    public override string MeasureName => "value";

    public override GradeInfo Describe(Grade grade) => new(AlertSeverity.Minor, AlertCertainty.Observed, AlertUrgency.Immediate, [AlertResponse.Monitor]);

    public sealed override string Event(Grade grade, string language) => @event.In(language);

    public sealed override string Headline(Grade grade, string language, AlertEvidence evidence) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, headline.In(language), Node(evidence));

    public sealed override string Instruction(Grade grade, string language) => instruction.In(language);

    protected static string Node(AlertEvidence e) => e.Nodes.Count > 0 ? e.Nodes[0] : "?";

    /// <summary>One text in both CAP languages.</summary>
    internal readonly record struct Words(string German, string English)
    {
        public string In(string language) => IsGerman(language) ? German : English;
    }
}

/// <summary>A node that said goodbye, lost its connection (its will), or fell silent.</summary>
internal sealed class NodeOfflineDefinition() : OperatorDefinition(
    NodeOfflineOptions.RuleId,
    new("Ausfall Messknoten", "Sensor node outage"),
    new("Messknoten {0} sendet keine Daten", "Sensor node {0} is not reporting"),
    new("Stromversorgung und Netzverbindung des Knotens prüfen. Bis dahin fehlen seine Messwerte in den Warnregeln.",
        "Check the node's power supply and network connection. Until then its readings are missing from the alert rules."))
{
    public const string Lost = "lost";
    public const string Offline = "offline";
    public const string Silent = "silent";

    public static readonly NodeOfflineDefinition Instance = new();

    public override string Description(Grade grade, string language, AlertEvidence evidence)
    {
        bool german = IsGerman(language);
        string node = Node(evidence);
        string ago = AlertText.Format("s", evidence.Value, german);
        string reason = evidence.Detail.Count > 0 ? evidence.Detail[0] : Silent;
        return (reason, german) switch
        {
            (Lost, true) => $"Die Verbindung zu Messknoten {node} ist abgerissen: der Broker hat seinen letzten Willen veröffentlicht. Letzte Nachricht vor {ago}.",
            (Lost, false) => $"The connection to sensor node {node} broke off: the broker published its last will. Last message {ago} ago.",
            (Offline, true) => $"Messknoten {node} wurde planmäßig beendet. Letzte Nachricht vor {ago}.",
            (Offline, false) => $"Sensor node {node} was shut down cleanly. Last message {ago} ago.",
            (_, true) => $"Messknoten {node} hat seit {ago} nichts gesendet (Grenze {AlertText.Format("s", evidence.Threshold, true)}).",
            _ => $"Sensor node {node} has sent nothing for {ago} (limit {AlertText.Format("s", evidence.Threshold, false)}).",
        };
    }
}

/// <summary>Sensors that the node's status reports as failed.</summary>
internal sealed class SensorFailedDefinition() : OperatorDefinition(
    SensorFailedOptions.RuleId,
    new("Sensorausfall", "Sensor failure"),
    new("Sensorausfall an Messknoten {0}", "Sensor failure on sensor node {0}"),
    new("Sensor und Verkabelung prüfen. Der Knoten versucht den Sensor weiter mit wachsendem Abstand (bis 2 min) zu erreichen.",
        "Check the sensor and its wiring. The node keeps retrying the sensor with a growing interval (up to 2 min)."))
{
    public static readonly SensorFailedDefinition Instance = new();

    public override string Description(Grade grade, string language, AlertEvidence evidence) => IsGerman(language)
        ? $"Ausgefallen an Messknoten {Node(evidence)}: {string.Join("; ", evidence.Detail)}."
        : $"Failed on sensor node {Node(evidence)}: {string.Join("; ", evidence.Detail)}.";
}

/// <summary>Channels that stopped updating while their node still talks, or whose aggregates are flagged stale.</summary>
internal sealed class StaleDataDefinition() : OperatorDefinition(
    StaleDataOptions.RuleId,
    new("Veraltete Messwerte", "Stale readings"),
    new("Veraltete Messwerte von Messknoten {0}", "Stale readings from sensor node {0}"),
    new("Sensor und Abtastung des Knotens prüfen; die Warnregeln sehen für diese Kanäle keine aktuellen Werte.",
        "Check the node's sensor and sampling; the alert rules see no current values for these channels."))
{
    public static readonly StaleDataDefinition Instance = new();

    public override string Description(Grade grade, string language, AlertEvidence evidence) => IsGerman(language)
        ? $"Keine aktuellen Werte seit {AlertText.Format("s", evidence.Value, true)} von Messknoten {Node(evidence)} für: {string.Join(", ", evidence.Detail)}."
        : $"No current values for {AlertText.Format("s", evidence.Value, false)} from sensor node {Node(evidence)} for: {string.Join(", ", evidence.Detail)}.";
}

/// <summary>Channels whose windows keep arriving flagged stuck or out of range.</summary>
internal sealed class ImplausibleDataDefinition() : OperatorDefinition(
    ImplausibleDataOptions.RuleId,
    new("Unplausible Messwerte", "Implausible readings"),
    new("Unplausible Messwerte von Messknoten {0}", "Implausible readings from sensor node {0}"),
    new("Sensor vor Ort prüfen (Verschmutzung, Montage, Kabel); bis dahin sehen die Warnregeln für diese Kanäle nichts.",
        "Check the sensor on site (dirt, mounting, cable); until then the alert rules see nothing for these channels."))
{
    public static readonly ImplausibleDataDefinition Instance = new();

    public static string Reason(QualityFlags flags) => (flags & QualityFlags.Stuck) != 0 ? "stuck" : "out of range";

    public override string Description(Grade grade, string language, AlertEvidence evidence) => IsGerman(language)
        ? $"Seit {AlertText.Format("s", evidence.Value, true)} nur festhängende oder unmögliche Werte von Messknoten {Node(evidence)} für: {string.Join(", ", evidence.Detail)}."
        : $"For {AlertText.Format("s", evidence.Value, false)} only stuck or impossible values from sensor node {Node(evidence)} for: {string.Join(", ", evidence.Detail)}.";
}

/// <summary>An alert whose rule is no longer configured; the gateway withdraws it at start.</summary>
internal sealed class RetiredDefinition(string id, AlertAudience audience) : AlertDefinition
{
    public override string Id => id;

    public override AlertAudience Audience => audience;

    public override AlertCategory Category => audience == AlertAudience.Operator ? AlertCategory.Infra : AlertCategory.Met;

    public override string MeasureName => "value";

    public override GradeInfo Describe(Grade grade) => new(AlertSeverity.Unknown, AlertCertainty.Unknown, AlertUrgency.Unknown, [AlertResponse.None]);

    public override string Event(Grade grade, string language) => IsGerman(language) ? "SensorKit-Warnung" : "SensorKit alert";

    public override string Headline(Grade grade, string language, AlertEvidence evidence) => IsGerman(language)
        ? $"Warnung der Regel {id}"
        : $"Alert of rule {id}";

    // Only ever cancelled, and a cancel says so itself; this is for completeness.
    public override string Instruction(Grade grade, string language) => IsGerman(language) ? "Keine Maßnahmen erforderlich." : "No action needed.";

    public override string Description(Grade grade, string language, AlertEvidence evidence) => Headline(grade, language, evidence);
}
