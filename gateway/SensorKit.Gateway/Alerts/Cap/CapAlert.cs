using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Alerts.Cap;

// The model mirrors the CAP 1.2 element tree (OASIS Standard, 1 July 2010) but only carries what the
// gateway emits. Enum member names are the literal CAP code values, so the writer can print them as is. Category,
// responseType, urgency, severity and certainty are the rules' own classes (SensorKit.Gateway.Contracts,
// Alerting/AlertClasses.cs), named by the same code values: the rules class an alert without knowing CAP.

/// <summary>Code denoting the appropriate handling of the message (CAP 1.2 §3.2.1 <c>status</c>).</summary>
public enum CapStatus
{
    Actual,
    Exercise,
    System,
    Test,
    Draft,
}

/// <summary>Code denoting the nature of the message (CAP 1.2 §3.2.1 <c>msgType</c>).</summary>
public enum CapMsgType
{
    Alert,
    Update,
    Cancel,
    Ack,
    Error,
}

/// <summary>Intended distribution (CAP 1.2 §3.2.1 <c>scope</c>).</summary>
public enum CapScope
{
    Public,

    /// <summary>Requires <see cref="CapAlert.Restriction"/>.</summary>
    Restricted,

    /// <summary>Requires <see cref="CapAlert.Addresses"/>.</summary>
    Private,
}

/// <summary>
/// One CAP 1.2 alert message (§3.2.1). An all-clear is an <see cref="CapMsgType.Update"/> whose infos carry
/// <see cref="AlertResponse.AllClear"/> and whose <see cref="References"/> name the messages it ends.
/// </summary>
public sealed record CapAlert
{
    /// <summary>Unique per sender; no spaces, commas, <c>&lt;</c> or <c>&amp;</c> (§3.2.1).</summary>
    public required string Identifier { get; init; }

    /// <summary>Globally unique sender id, e.g. a domain-based name; same character rules as the identifier.</summary>
    public required string Sender { get; init; }

    /// <summary>Written with its own offset, to the second (§3.3.2).</summary>
    public required DateTimeOffset Sent { get; init; }

    public required CapStatus Status { get; init; }

    public required CapMsgType MsgType { get; init; }

    /// <summary>Operator or device that originated the message, e.g. the node id (§3.2.1 <c>source</c>).</summary>
    public string? Source { get; init; }

    public CapScope Scope { get; init; } = CapScope.Public;

    /// <summary>Rule for limiting distribution; required when <see cref="Scope"/> is Restricted (§3.2.1).</summary>
    public string? Restriction { get; init; }

    /// <summary>Space-separated recipients; required when <see cref="Scope"/> is Private (§3.2.1).</summary>
    public string? Addresses { get; init; }

    /// <summary>Free text; CAP expects it for Exercise and Error messages (§3.2.1 <c>note</c>).</summary>
    public string? Note { get; init; }

    /// <summary>Earlier messages this one updates, cancels or acknowledges (§3.2.1 <c>references</c>).</summary>
    public IReadOnlyList<CapReference> References { get; init; } = [];

    /// <summary>One block per language; may be empty for Ack/Error (§3.2.2).</summary>
    public IReadOnlyList<CapInfo> Infos { get; init; } = [];
}

/// <summary>One entry of <c>references</c>: identifies an earlier message by sender, identifier and sent (§3.2.1).</summary>
public sealed record CapReference(string Sender, string Identifier, DateTimeOffset Sent)
{
    /// <summary>The reference to <paramref name="alert"/>, as a later update, cancel or all-clear names it.</summary>
    public static CapReference To(CapAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return new CapReference(alert.Sender, alert.Identifier, alert.Sent);
    }
}

/// <summary>A <c>parameter</c> or other valueName/value pair (§3.2.2).</summary>
public sealed record CapParameter(string ValueName, string Value);

/// <summary>One <c>info</c> block: the event in one language (CAP 1.2 §3.2.2).</summary>
public sealed record CapInfo
{
    /// <summary>RFC 3066 tag, e.g. "de-DE" or "en-US"; CAP assumes "en-US" when absent.</summary>
    public required string Language { get; init; }

    /// <summary>At least one (§3.2.2 <c>category</c> is mandatory).</summary>
    public required IReadOnlyList<AlertCategory> Categories { get; init; }

    /// <summary>Short text naming the event type, e.g. "Hochwasser".</summary>
    public required string Event { get; init; }

    public IReadOnlyList<AlertResponse> ResponseTypes { get; init; } = [];

    public required AlertUrgency Urgency { get; init; }

    public required AlertSeverity Severity { get; init; }

    public required AlertCertainty Certainty { get; init; }

    public DateTimeOffset? Onset { get; init; }

    public DateTimeOffset? Expires { get; init; }

    public string? SenderName { get; init; }

    /// <summary>CAP recommends at most 160 characters so it fits a text message (§3.2.2).</summary>
    public string? Headline { get; init; }

    public string? Description { get; init; }

    public string? Instruction { get; init; }

    /// <summary>Absolute link to further information (§3.2.2 <c>web</c>).</summary>
    public Uri? Web { get; init; }

    /// <summary>How to reach the issuer for follow-up (§3.2.2 <c>contact</c>).</summary>
    public string? Contact { get; init; }

    public IReadOnlyList<CapParameter> Parameters { get; init; } = [];

    public CapArea? Area { get; init; }
}
