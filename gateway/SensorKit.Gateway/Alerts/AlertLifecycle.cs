using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.State;
using SensorKit.Gateway.Storage;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Alerts;

/// <summary>
/// The life of every alert: raise → update (severity, certainty or the set of nodes changes) → all-clear, or
/// cancel by an operator. One alert per rule, site and subject at a time, so an ongoing event never gives a
/// second raise; each follow-up references all earlier CAP messages of the alert. Every step is stored before it
/// is queued for publishing, so a restart continues the alert instead of raising it again. A long-running alert's
/// CAP message is re-issued before it expires (<see cref="Refresh"/>).
/// </summary>
/// <remarks>
/// The rules reach it only through <see cref="IAlertSink"/>, and it knows nothing of them but their
/// <see cref="AlertDefinition"/>. Not thread-safe: the rule engine calls it under its lock.
/// </remarks>
public sealed partial class AlertLifecycle : IAlertSink, IDisposable
{
    private readonly Dictionary<(string Rule, string Site, string Subject), StoredAlert> _active = [];
    private readonly IAlertStore _store;
    private readonly ISiteOwnership _ownership;
    private readonly IAlertMessageSink[] _sinks;
    private readonly CapMessageFactory _cap;
    private readonly TimeProvider _time;
    private readonly ILogger<AlertLifecycle> _logger;
    private readonly PayloadBuffer _json = new();

    internal AlertLifecycle(IAlertStore store, IEnumerable<IAlertMessageSink> sinks, CapMessageFactory cap, ISiteOwnership ownership, TimeProvider time, ILogger<AlertLifecycle> logger)
    {
        _store = store;
        _ownership = ownership;
        _sinks = [.. sinks];
        _cap = cap;
        _time = time;
        _logger = logger;
    }

    /// <summary>CAP documents that failed schema validation or signing (a defect): their step went out as JSON only.</summary>
    public long CapInvalid { get; private set; }

    /// <summary>Steps refused by the store's fencing: the site's lease had passed to another gateway of the group. Never published.</summary>
    public long FencedSteps { get; private set; }

    /// <summary>Steps the state store could not write; they were published anyway, since an alert must not wait for a disk.</summary>
    public long StoreFailures { get; private set; }

    /// <summary>Active alerts (not cancelled), by alert id.</summary>
    public IReadOnlyList<string> ActiveAlertIds => [.. _active.Values.Where(a => !a.Cancelled).Select(a => a.AlertId)];

    internal IEnumerable<StoredAlert> Active => _active.Values;

    /// <summary>The grade last published for a subject; none when no alert is active.</summary>
    public Grade Current(string rule, string site, string subject) =>
        _active.TryGetValue((rule, site, subject), out StoredAlert? a) ? new Grade(a.Level, a.Confirmed, a.Members) : Grade.None;

    /// <summary>Loads active alerts and queues what a restart must resend: unsent steps, and the retained state of active alerts.</summary>
    public IReadOnlyList<ActiveAlert> Restore(string? site = null)
    {
        var restored = new List<StoredAlert>();
        foreach (StoredAlert a in _store.LoadAlerts(site))
        {
            _active[(a.Rule, a.Site, a.Subject)] = a;
            restored.Add(a);
        }

        var resent = new HashSet<string>(StringComparer.Ordinal);
        foreach (StoredMessage m in _store.LoadUnpublished(site))
        {
            foreach (IAlertMessageSink sink in _sinks)
            {
                sink.OnUnsent(m);
            }

            resent.Add(m.Identifier);
        }

        foreach (StoredAlert a in restored.Where(a => !a.Cancelled && !resent.Contains(a.LastIdentifier)))
        {
            // The embedded broker keeps retained messages in memory only: after a restart it has forgotten them.
            if (_store.LoadMessage(a.LastIdentifier) is { } last)
            {
                foreach (IAlertMessageSink sink in _sinks)
                {
                    sink.OnStillActive(a.Site, a.Rule, a.Subject, last.Json);
                }
            }
        }

        if (restored.Count > 0 || resent.Count > 0)
        {
            LogRestored(restored.Count, resent.Count, site ?? "all sites");
        }

        return [.. restored.Select(View)];
    }

    public void Forget(string site)
    {
        foreach (var key in _active.Keys.Where(k => k.Site == site).ToList())
        {
            _active.Remove(key);
        }
    }

    public ActiveAlert? Find(string alertId) =>
        _active.Values.FirstOrDefault(a => a.AlertId == alertId && !a.Cancelled) is { } alert ? View(alert) : null;

    private static ActiveAlert View(StoredAlert a) =>
        new(a.AlertId, a.Rule, a.Site, a.Subject, Enum.Parse<AlertAudience>(a.Audience), a.RaisedAt, a.Members, a.Cancelled, EvidenceOf(a));

    /// <summary>
    /// Moves the alert of the step's rule, site and subject to the step's grade: raises, updates or clears it as
    /// needed. <paramref name="dirty"/> is rule state stored in the same transaction. Returns true when a message
    /// was published.
    /// </summary>
    public bool Apply(AlertStep step, IReadOnlyCollection<IPersistentState> dirty)
    {
        (AlertDefinition definition, string site, string subject, Grade grade, AlertEvidence evidence, DateTimeOffset eventTime, long receivedTimestamp) = step;
        var key = (definition.Id, site, subject);
        _active.TryGetValue(key, out StoredAlert? alert);
        if (alert is { Cancelled: true })
        {
            // Withdrawn by an operator: stays quiet until its condition has ended once.
            (alert.Level, alert.Confirmed, alert.Members) = (grade.Level, grade.Confirmed, grade.Members);
            if (!grade.IsActive)
            {
                _active.Remove(key);
                Commit(alert, ended: true, null, dirty);
            }

            return false;
        }

        AlertState state;
        if (alert is null)
        {
            if (!grade.IsActive)
            {
                return false;
            }

            state = AlertState.Raised;
            alert = new StoredAlert
            {
                AlertId = $"{site}-{definition.Id}-{subject}-{eventTime.ToUnixTimeSeconds()}",
                Rule = definition.Id,
                Site = site,
                Subject = subject,
                Audience = definition.Audience.ToString(),
                RaisedAt = eventTime,
            };
        }
        else if (grade == new Grade(alert.Level, alert.Confirmed, alert.Members))
        {
            return false;
        }
        else
        {
            state = grade.IsActive ? AlertState.Updated : AlertState.Cleared;
        }

        if (evidence.Nodes.Count == 0)
        {
            // On clear nobody triggers any more: the message names the nodes that did.
            evidence = evidence with { Nodes = [.. alert.Nodes] };
        }

        GradeInfo info = state == AlertState.Cleared
            ? new GradeInfo(AlertSeverity.Minor, AlertCertainty.Observed, AlertUrgency.Past, [AlertResponse.AllClear])
            : definition.Describe(grade);
        Publish(definition, alert, state, grade, info, evidence, receivedTimestamp, note: null, dirty);
        if (state == AlertState.Cleared)
        {
            _active.Remove(key);
        }
        else
        {
            _active[key] = alert;
        }

        return true;
    }

    /// <summary>
    /// Withdraws an active alert, e.g. one raised in error (CAP msgType Cancel). It stays withdrawn while its
    /// condition lasts, so the same data does not raise it again.
    /// </summary>
    public bool Cancel(AlertDefinition definition, string alertId, string? note, IReadOnlyCollection<IPersistentState> dirty)
    {
        StoredAlert? alert = _active.Values.FirstOrDefault(a => a.AlertId == alertId && !a.Cancelled);
        if (alert is null)
        {
            return false;
        }

        var info = new GradeInfo(AlertSeverity.Minor, AlertCertainty.Observed, AlertUrgency.Past, [AlertResponse.None]);
        Grade grade = new(alert.Level, alert.Confirmed, alert.Members);
        Publish(definition, alert, AlertState.Cancelled, grade, info, EvidenceOf(alert), 0, string.IsNullOrWhiteSpace(note) ? null : note.Trim(), dirty);
        return true;
    }

    /// <summary>
    /// Re-issues every active alert whose latest CAP message is about to expire (<see cref="CapMessageFactory.RefreshDue"/>),
    /// so consumers never see a live alert expire: a CAP Update with the same content, a later expires and
    /// references to all earlier messages. Nothing about the alert changed, so there is no JSON event, no new
    /// revision and the retained state stays: subscribers would otherwise get identical consecutive updates.
    /// </summary>
    /// <param name="now">The gateway clock.</param>
    /// <param name="definitionOf">The rule of an alert by rule id and site; null for a rule no longer configured (withdrawn at start).</param>
    public void Refresh(DateTimeOffset now, Func<string, string, AlertDefinition?> definitionOf)
    {
        foreach (StoredAlert alert in _active.Values)
        {
            if (alert.Cancelled || definitionOf(alert.Rule, alert.Site) is not { } definition)
            {
                continue;
            }

            // Alerts stored before messages carried expires are re-issued at once, so theirs gets one.
            if (alert.Expires is { } expires && now < _cap.RefreshDue(definition, expires))
            {
                continue;
            }

            Reissue(definition, alert, now);
        }
    }

    private void Reissue(AlertDefinition definition, StoredAlert alert, DateTimeOffset now)
    {
        Grade grade = new(alert.Level, alert.Confirmed, alert.Members);
        alert.Reissues++;
        string identifier = _cap.Identifier(alert.AlertId, alert.Revision, alert.Reissues);
        var step = new PublishedStep
        {
            Definition = definition,
            State = alert.Revision == 1 ? AlertState.Raised : AlertState.Updated,
            Reissue = true,
            ContentSent = alert.References.LastOrDefault(r => r.Identifier == alert.LastIdentifier)?.Sent,
            Grade = grade,
            Info = definition.Describe(grade),
            Evidence = EvidenceOf(alert),
            Site = alert.Site,
            AlertId = alert.AlertId,
            Identifier = identifier,
            Sent = now,
            RaisedAt = alert.RaisedAt,
            References = alert.References,
        };
        (CapAlert capAlert, byte[]? cap) = BuildCap(step);

        // Also when the document failed: the next attempt comes a validity later, not every tick.
        alert.Expires = capAlert.Infos.Count > 0 ? capAlert.Infos[0].Expires : null;
        StoredMessage? stored = null;
        if (cap is not null)
        {
            CapInfo feedInfo = capAlert.Infos[0];
            stored = new StoredMessage
            {
                Identifier = identifier,
                AlertId = alert.AlertId,
                Site = alert.Site,
                Rule = alert.Rule,
                Subject = alert.Subject,
                Revision = alert.Revision,
                State = StoredMessage.Reissued,
                Sent = capAlert.Sent,
                Title = feedInfo.Headline ?? feedInfo.Event,
                Summary = feedInfo.Description,
                Language = feedInfo.Language,
                Json = [],
                Cap = cap,
            };
            alert.References.Add(new StoredReference(capAlert.Sender, capAlert.Identifier, capAlert.Sent));
        }

        if (Commit(alert, ended: false, stored, []) && cap is not null)
        {
            foreach (IAlertMessageSink sink in _sinks)
            {
                sink.OnReissue(alert.Site, alert.Rule, alert.Subject, cap, identifier);
            }


            LogReissued(alert.AlertId, identifier, CapWriter.FormatDateTime(capAlert.Infos[0].Expires!.Value));
        }
    }

    // The evidence of the last step, as stored: what a cancel withdraws and a re-issue repeats.
    private static AlertEvidence EvidenceOf(StoredAlert alert) => new()
    {
        Nodes = alert.Nodes,
        Quantity = alert.Quantity,
        Unit = alert.Unit,
        Value = alert.Value,
        Threshold = alert.Threshold,
        NodesReporting = alert.NodesReporting,
        Detail = alert.Detail,
    };

    private void Publish(AlertDefinition definition, StoredAlert alert, AlertState state, Grade grade, GradeInfo info, AlertEvidence evidence, long receivedTimestamp, string? note, IReadOnlyCollection<IPersistentState> dirty)
    {
        DateTimeOffset now = _time.GetUtcNow();

        // Rounded once, to the unit's resolution, so the JSON, the CAP parameters and the CAP texts agree.
        evidence = evidence with { Value = AlertText.Round(evidence.Unit, evidence.Value) };
        int revision = alert.Revision + 1;
        string identifier = _cap.Identifier(alert.AlertId, revision);
        Grade textGrade = state == AlertState.Cleared ? Grade.None : grade;
        var step = new PublishedStep
        {
            Definition = definition,
            State = state,
            Grade = textGrade,
            Info = info,
            Evidence = evidence,
            Site = alert.Site,
            AlertId = alert.AlertId,
            Identifier = identifier,
            Sent = now,
            RaisedAt = alert.RaisedAt,
            References = alert.References,
            Note = note,
        };
        (CapAlert capAlert, byte[]? cap) = BuildCap(step);

        string headline = definition.Headline(textGrade, AlertDefinition.English, evidence);
        var message = new AlertMessage
        {
            AlertId = alert.AlertId,
            Rule = definition.Id,
            State = state,
            Audience = definition.Audience,
            Site = alert.Site,
            Subject = alert.Subject,
            Nodes = evidence.Nodes,
            Quantity = evidence.Quantity,
            Unit = evidence.Unit,
            Value = evidence.Value,
            Threshold = evidence.Threshold,
            Hysteresis = definition.Hysteresis,
            Severity = info.Severity.ToString(),
            Certainty = info.Certainty.ToString(),
            Urgency = info.Urgency.ToString(),
            Headline = state switch
            {
                AlertState.Cleared => "All clear: " + headline,
                AlertState.Cancelled => "Cancelled: " + headline,
                _ => headline,
            },
            Time = now,
            RaisedAt = alert.RaisedAt,
            Revision = revision,
            Status = _cap.StatusFor(definition.Audience).ToString(),
            Measure = definition.MeasureName,
            Quorum = definition.Quorum,
            NodesReporting = evidence.NodesReporting,
            CapIdentifier = cap is null ? null : identifier,
        };
        byte[] json = _json.Alert(message).ToArray();

        CapInfo feedInfo = capAlert.Infos[0];
        var stored = new StoredMessage
        {
            Identifier = identifier,
            AlertId = alert.AlertId,
            Site = alert.Site,
            Rule = definition.Id,
            Subject = alert.Subject,
            Revision = revision,
            State = ProtocolJson.Name(state),
            Sent = capAlert.Sent,
            Title = feedInfo.Headline ?? feedInfo.Event,
            Summary = feedInfo.Description,
            Language = feedInfo.Language,
            Json = json,
            Cap = cap,
        };

        alert.Revision = revision;
        alert.LastIdentifier = identifier;
        alert.Reissues = 0;
        alert.Expires = feedInfo.Expires;
        (alert.Level, alert.Confirmed, alert.Members) = (grade.Level, grade.Confirmed, grade.Members);
        alert.Cancelled = state == AlertState.Cancelled;
        if (state != AlertState.Cleared)
        {
            alert.Nodes = [.. evidence.Nodes];
            alert.Detail = [.. evidence.Detail];
            (alert.Quantity, alert.Unit, alert.Value, alert.Threshold, alert.NodesReporting) = (evidence.Quantity, evidence.Unit, evidence.Value, evidence.Threshold, evidence.NodesReporting);
        }

        if (cap is not null)
        {
            alert.References.Add(new StoredReference(capAlert.Sender, capAlert.Identifier, capAlert.Sent));
        }

        if (!Commit(alert, ended: state == AlertState.Cleared, stored, dirty))
        {
            return;
        }

        foreach (IAlertMessageSink sink in _sinks)
        {
            sink.OnStep(message, json, cap, identifier, receivedTimestamp);
        }

        LogStep(ProtocolJson.Name(state), alert.AlertId, revision, message.Severity, message.Certainty, string.Join(",", evidence.Nodes));
    }

    private (CapAlert Alert, byte[]? Bytes) BuildCap(PublishedStep step)
    {
        CapAlert alert = _cap.Build(step);
        try
        {
            byte[] bytes = _cap.Write(alert);
            IReadOnlyList<string> errors = CapSchema.Validate(Encoding.UTF8.GetString(bytes));
            if (errors.Count == 0)
            {
                return (alert, bytes);
            }

            CapInvalid++;
            LogCapInvalid(step.Identifier, string.Join("; ", errors));
        }
        catch (ArgumentException e)
        {
            CapInvalid++;
            LogCapInvalid(step.Identifier, e.Message);
        }
        catch (CryptographicException e)
        {
            // Never published unsigned: a consumer could not tell it from a forgery.
            CapInvalid++;
            LogCapUnsigned(step.Identifier, e.Message);
        }

        return (alert, null);
    }

    /// <summary>Stores a step; false when the store refused it because another gateway holds the site now: then it must not go out.</summary>
    private bool Commit(StoredAlert alert, bool ended, StoredMessage? message, IReadOnlyCollection<IPersistentState> dirty)
    {
        try
        {
            _store.CommitStep(alert, ended, message, dirty);
        }
        catch (StateStoreException e) when (_ownership.Member is not null)
        {
            // In a group an unstored step must not go out: the site is dropped, its message stays unacknowledged at
            // the broker, and whoever holds the site next (this member again, once the database answers) takes it
            // from the last stored step.
            StoreFailures++;
            _ownership.Lost(alert.Site, $"the state store failed: {e.Message}");
            LogFenced(alert.AlertId, e.Message);
            return false;
        }
        catch (StateStoreException e)
        {
            StoreFailures++;
            LogStoreFailed(alert.AlertId, e.Message);
        }
        catch (SiteNotHeldException e)
        {
            FencedSteps++;
            LogFenced(alert.AlertId, e.Message);
            return false;
        }

        return true;
    }

    public void Dispose() => _json.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {State}: {AlertId} revision {Revision}, {Severity}/{Certainty}, nodes {Nodes}")]
    private partial void LogStep(string state, string alertId, int revision, string severity, string certainty, string nodes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {AlertId}: CAP message re-issued unchanged as {Identifier}, valid until {Expires}")]
    private partial void LogReissued(string alertId, string identifier, string expires);

    [LoggerMessage(Level = LogLevel.Error, Message = "CAP message {Identifier} failed the CAP 1.2 schema and was not published: {Errors}")]
    private partial void LogCapInvalid(string identifier, string errors);

    [LoggerMessage(Level = LogLevel.Error, Message = "CAP message {Identifier} could not be signed and was not published: {Reason}")]
    private partial void LogCapUnsigned(string identifier, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {AlertId}: the state store failed ({Reason}); the step is published but will not survive a restart")]
    private partial void LogStoreFailed(string alertId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId}: step not published, this gateway no longer holds the site ({Reason})")]
    private partial void LogFenced(string alertId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored {Count} active alerts of {Sites} from the state store; {Resent} unsent messages queued again")]
    private partial void LogRestored(int count, int resent, string sites);
}
