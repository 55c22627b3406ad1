using System.Text.Json;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Contracts;

/// <summary>
/// What the rules produce: move the alert of (<see cref="Definition"/>, <see cref="Site"/>, <see cref="Subject"/>)
/// to <see cref="Grade"/>. The alert stage turns it into a raise, an update or an all-clear (or nothing, when the
/// grade is the one it published last).
/// </summary>
/// <param name="Definition">The rule, with its texts and grading.</param>
/// <param name="Site">The site of the alert.</param>
/// <param name="Subject">A node, or the site for rules that alert once per site.</param>
/// <param name="Grade">The new grade; <see cref="Grade.None"/> ends the alert.</param>
/// <param name="Evidence">The facts behind the step.</param>
/// <param name="EventTime">When it happened: the telemetry's own time for hazard rules, the gateway clock for operator rules.</param>
/// <param name="ReceivedTimestamp">Stopwatch timestamp of the message that caused the step, for the latency measurement; 0 when none did.</param>
public sealed record AlertStep(AlertDefinition Definition, string Site, string Subject, Grade Grade, AlertEvidence Evidence, DateTimeOffset EventTime, long ReceivedTimestamp);

/// <summary>An active alert as the alert stage holds it: what the rules need to continue after a restart.</summary>
/// <param name="AlertId">The alert's id.</param>
/// <param name="Rule">The rule's id.</param>
/// <param name="Site">The site.</param>
/// <param name="Subject">A node, or the site.</param>
/// <param name="Audience">Who it is for.</param>
/// <param name="RaisedAt">When it was raised (event time).</param>
/// <param name="Members">What it rests on (<see cref="Grade.Members"/>).</param>
/// <param name="Cancelled">Withdrawn by an operator; stays quiet until its condition has ended once.</param>
/// <param name="Evidence">The evidence of its last step.</param>
public sealed record ActiveAlert(string AlertId, string Rule, string Site, string Subject, AlertAudience Audience, DateTimeOffset RaisedAt, string Members, bool Cancelled, AlertEvidence Evidence);

/// <summary>
/// Where the rules hand their alert steps: the alert lifecycle (Alerts/AlertLifecycle.cs), which stores, words and
/// publishes them through its sinks. The rules know this contract only: nothing of CAP, MQTT, HTTP or SQLite.
/// </summary>
/// <remarks>
/// Called under the rule engine's lock, one step at a time. <c>dirty</c> is rule state to store in the same
/// transaction as the step, so a restart resumes exactly after the last published step: when a call returns true
/// the step was taken and the rule engine forgets its dirty set.
/// </remarks>
public interface IAlertSink
{
    /// <summary>Active alerts (not cancelled), by alert id.</summary>
    IReadOnlyList<string> ActiveAlertIds { get; }

    /// <summary>The grade last published for a subject; <see cref="Grade.None"/> when no alert is active.</summary>
    Grade Current(string rule, string site, string subject);

    /// <summary>Loads the active alerts and queues what a restart must resend; returns them. Of one site, or all when <paramref name="site"/> is null.</summary>
    IReadOnlyList<ActiveAlert> Restore(string? site = null);

    /// <summary>Drops what it holds of a site another gateway of the group now serves; nothing is written or published.</summary>
    void Forget(string site);

    /// <summary>Takes one step; true when a message was published.</summary>
    bool Apply(AlertStep step, IReadOnlyCollection<IPersistentState> dirty);

    /// <summary>The active, not cancelled alert with that id; null when there is none.</summary>
    ActiveAlert? Find(string alertId);

    /// <summary>Withdraws an active alert (CAP Cancel); false when there is no active alert with that id.</summary>
    bool Cancel(AlertDefinition definition, string alertId, string? note, IReadOnlyCollection<IPersistentState> dirty);

    /// <summary>Re-issues active alerts whose message is about to expire; <paramref name="definitionOf"/> finds the rule of (rule id, site).</summary>
    void Refresh(DateTimeOffset now, Func<string, string, AlertDefinition?> definitionOf);
}

/// <summary>
/// The one command that runs against the data path: an operator withdraws an alert. Owned upstream (the rules
/// implement it), so an output that offers it (the HTTP feed) needs no reference to the rule engine.
/// </summary>
public interface IAlertCommands
{
    /// <summary>Withdraws an active alert (CAP Cancel); false when there is no active alert with that id.</summary>
    bool Cancel(string alertId, string? note);
}

/// <summary>Something whose state survives a restart: written when dirty, by key.</summary>
public interface IPersistentState
{
    string StateKey { get; }

    /// <summary>The site the state belongs to: a gateway group hands state over site by site.</summary>
    string Site { get; }

    void WriteSnapshot(Utf8JsonWriter writer);
}

/// <summary>Where the rules keep their state (rate windows, baselines, hold timers) between alert steps; the state store implements it.</summary>
public interface IRuleStateStore
{
    /// <summary>The persisted rule state by key: of one site, or of all when <paramref name="site"/> is null.</summary>
    IReadOnlyDictionary<string, byte[]> LoadStates(string? site = null);

    /// <summary>Writes the given states in one transaction; returns the keys of states that could not be serialised.</summary>
    IReadOnlyList<string> SaveStates(IEnumerable<IPersistentState> dirty);
}

/// <summary>A store could not write (the disk, the database); what was to be written stays dirty and is retried.</summary>
public sealed class StateStoreException : Exception
{
    public StateStoreException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public StateStoreException(string message)
        : base(message)
    {
    }

    public StateStoreException()
    {
    }
}

/// <summary>
/// The store refused a write for a site this gateway no longer holds: its lease expired or another gateway of the
/// group took the site over (a newer fencing token). Nothing of the write was stored, and it must not be published.
/// </summary>
public sealed class SiteNotHeldException : Exception
{
    public SiteNotHeldException(string site, string message)
        : base(message) => Site = site;

    public SiteNotHeldException(string message, Exception inner)
        : base(message, inner) => Site = string.Empty;

    public SiteNotHeldException(string message)
        : base(message) => Site = string.Empty;

    public SiteNotHeldException()
        => Site = string.Empty;

    public string Site { get; }
}
