using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.State;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>One step of an alert's life, fully decided, as the lifecycle hands it to the CAP writer.</summary>
internal sealed record PublishedStep
{
    public required AlertDefinition Definition { get; init; }

    public required AlertState State { get; init; }

    /// <summary>The grade whose texts describe this step: the new one, or on clear and cancel the one that ends.</summary>
    public required Grade Grade { get; init; }

    public required GradeInfo Info { get; init; }

    public required AlertEvidence Evidence { get; init; }

    public required string Site { get; init; }

    public required string AlertId { get; init; }

    public required string Identifier { get; init; }

    public required DateTimeOffset Sent { get; init; }

    public required DateTimeOffset RaisedAt { get; init; }

    public required IReadOnlyList<StoredReference> References { get; init; }

    /// <summary>Why an operator cancelled the alert.</summary>
    public string? Note { get; init; }

    /// <summary>
    /// A re-issue of the alert's last step before its message expires: same content, msgType Update. The state
    /// is that step's. <see cref="ContentSent"/> is when that step was sent.
    /// </summary>
    public bool Reissue { get; init; }

    public DateTimeOffset? ContentSent { get; init; }
}

/// <summary>
/// Builds the CAP 1.2 message of an alert step: German and English info blocks, the area from the triggering
/// nodes' positions (a circle around one node, a polygon around several), references to every earlier message of
/// the alert, and the status the gateway is configured for.
/// </summary>
internal sealed partial class CapMessageFactory(IOptions<CapOptions> options, IFleet nodes, CapSigner signer, CapWebLinks links, ILogger<CapMessageFactory> logger)
{
    private readonly CapOptions _options = options.Value;
    private readonly TimeZoneInfo _zone = CapOptionsValidator.TryFindTimeZone(options.Value.TimeZone, out TimeZoneInfo z) ? z : TimeZoneInfo.Utc;

    public string Sender => _options.Sender;

    /// <summary>The document as stored and published: written, then signed, so the signature covers exactly these bytes.</summary>
    /// <exception cref="ArgumentException">The alert breaks a CAP rule (see <see cref="CapWriter.EnsureValid"/>).</exception>
    public byte[] Write(CapAlert alert) => signer.Sign(CapWriter.ToUtf8Bytes(alert));

    /// <summary>"prefix-alertId-revision", and "-r1", "-r2" … for the re-issues of a revision.</summary>
    public string Identifier(string alertId, int revision, int reissue = 0) => reissue == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{_options.IdentifierPrefix}-{alertId}-{revision}")
        : string.Create(CultureInfo.InvariantCulture, $"{_options.IdentifierPrefix}-{alertId}-{revision}-r{reissue}");

    /// <summary>When a message of <paramref name="definition"/> sent at <paramref name="sent"/> expires: soon after an alert ends.</summary>
    public DateTimeOffset Expires(AlertDefinition definition, bool ended, DateTimeOffset sent) =>
        Local(sent + (ended ? _options.ExpiresEnded : Validity(definition)));

    /// <summary>
    /// When an active alert whose latest message expires at <paramref name="expires"/> is re-issued:
    /// Cap:RefreshBefore ahead, or half the validity for rules whose messages are valid for a shorter time.
    /// </summary>
    public DateTimeOffset RefreshDue(AlertDefinition definition, DateTimeOffset expires)
    {
        TimeSpan validity = Validity(definition);
        return expires - (_options.RefreshBefore < validity / 2 ? _options.RefreshBefore : validity / 2);
    }

    private TimeSpan Validity(AlertDefinition definition) => definition.Expires ?? _options.Expires;

    /// <summary>Exercise and Test stay as configured for every message; in Actual mode operator alerts are System.</summary>
    public CapStatus StatusFor(AlertAudience audience) =>
        _options.Status == CapStatus.Actual && audience == AlertAudience.Operator ? CapStatus.System : _options.Status;

    /// <summary>CAP times carry their own offset and whole seconds (§3.3.2).</summary>
    public DateTimeOffset Local(DateTimeOffset t)
    {
        DateTimeOffset local = TimeZoneInfo.ConvertTime(t, _zone);
        return new DateTimeOffset(local.Ticks - (local.Ticks % TimeSpan.TicksPerSecond), local.Offset);
    }

    public CapAlert Build(PublishedStep step)
    {
        AlertDefinition def = step.Definition;
        CapStatus status = StatusFor(def.Audience);
        bool restricted = def.Audience == AlertAudience.Operator;
        string? note = step.Note;
        if (step.Reissue)
        {
            // Consumers and people reading the feed see why an unchanged message came again.
            string since = step.ContentSent is { } t ? CapWriter.FormatDateTime(Local(t)) : "?";
            note = $"Vor Ablauf unverändert erneut ausgegeben, Stand {since}. / Re-issued unchanged before expiry, as of {since}.";
        }

        if (status == CapStatus.Exercise)
        {
            note = note is null ? _options.ExerciseNote : $"{note} {_options.ExerciseNote}";
        }

        Uri? web = links.For(step.AlertId, step.Identifier);
        if (web is null)
        {
            LogNoWeb(step.Identifier);
        }

        return new CapAlert
        {
            Identifier = step.Identifier,
            Sender = _options.Sender,
            Sent = Local(step.Sent),
            Status = status,
            MsgType = step.State switch
            {
                _ when step.Reissue => CapMsgType.Update,
                AlertState.Raised => CapMsgType.Alert,
                AlertState.Cancelled => CapMsgType.Cancel,
                _ => CapMsgType.Update,
            },
            Source = $"SensorKit gateway, rule {def.Id}, {(step.Evidence.Nodes.Count == 1 ? "node" : "nodes")} {string.Join(", ", step.Evidence.Nodes)}",
            Scope = restricted ? CapScope.Restricted : CapScope.Public,
            Restriction = restricted ? _options.OperatorRestriction : null,
            Note = note,
            References = [.. step.References.Select(r => new CapReference(r.Sender, r.Identifier, r.Sent))],
            Infos = [.. AlertDefinition.Languages.Select(language => Info(step, language, web))],
        };
    }

    private CapInfo Info(PublishedStep step, string language, Uri? web)
    {
        AlertDefinition def = step.Definition;
        bool german = language.StartsWith("de", StringComparison.Ordinal);
        bool ended = step.State is AlertState.Cleared or AlertState.Cancelled;
        string headline = def.Headline(step.Grade, language, step.Evidence);
        string description = def.Description(step.Grade, language, step.Evidence);
        string instruction = def.Instruction(step.Grade, language);
        switch (step.State)
        {
            case AlertState.Cleared:
                headline = (german ? "Entwarnung: " : "All clear: ") + headline;
                description = (german ? "Die Warnung ist beendet. " : "The alert has ended. ") + description;
                instruction = def.ClearedInstruction(language);
                break;
            case AlertState.Cancelled:
                headline = (german ? "Aufgehoben: " : "Cancelled: ") + headline;
                description = (german ? "Die Warnung wurde zurückgenommen" : "The alert has been withdrawn") + (step.Note is null ? "." : $": {step.Note}");
                instruction = german ? "Keine Maßnahmen erforderlich." : "No action needed.";
                break;
        }

        return new CapInfo
        {
            Language = language,
            Categories = [def.Category],
            Event = def.Event(step.Grade, language),
            ResponseTypes = step.State switch
            {
                AlertState.Cleared => [AlertResponse.AllClear],
                AlertState.Cancelled => [AlertResponse.None],
                _ => step.Info.ResponseTypes,
            },
            Urgency = step.Info.Urgency,
            Severity = step.Info.Severity,
            Certainty = step.Info.Certainty,
            Onset = ended ? null : Local(step.RaisedAt),
            Expires = Expires(def, ended, step.Sent),
            SenderName = _options.SenderName.GetValueOrDefault(language),
            Headline = headline,
            Description = description,
            Instruction = instruction,
            Web = web,
            Contact = _options.Contact ?? _options.Sender,
            Parameters = Parameters(step),
            Area = Area(step, language, german),
        };
    }

    private static List<CapParameter> Parameters(PublishedStep step)
    {
        AlertEvidence e = step.Evidence;
        var list = new List<CapParameter>
        {
            new("sensorkit:site", step.Site),
            new("sensorkit:rule", step.Definition.Id),
            new("sensorkit:alertId", step.AlertId),
            new("sensorkit:nodes", string.Join(' ', e.Nodes)),
            new("sensorkit:quantity", e.Quantity),
            new("sensorkit:measure", step.Definition.MeasureName),
            new("sensorkit:value", Number(e.Value)),
            new("sensorkit:threshold", Number(e.Threshold)),
            new("sensorkit:unit", e.Unit),
        };
        if (step.Definition.Quorum > 1)
        {
            list.Add(new("sensorkit:quorum", step.Definition.Quorum.ToString(CultureInfo.InvariantCulture)));
            list.Add(new("sensorkit:nodesReporting", e.NodesReporting.ToString(CultureInfo.InvariantCulture)));
        }

        return list;
    }

    private static string Number(double v) => double.IsFinite(v) ? Math.Round(v, 3).ToString("0.###", CultureInfo.InvariantCulture) : "NaN";

    private CapArea? Area(PublishedStep step, string language, bool german)
    {
        var points = new List<(double Lat, double Lon)>();
        foreach (string node in step.Evidence.Nodes)
        {
            if (nodes.Location(step.Site, node) is { } at)
            {
                points.Add((at.Latitude, at.Longitude));
            }
        }

        if (points.Count == 0)
        {
            return null;
        }

        string site = _options.Sites.TryGetValue(step.Site, out Dictionary<string, string>? names) && names.TryGetValue(language, out string? name) ? name : step.Site;
        string what = step.Evidence.Nodes.Count == 1 ? (german ? "Messknoten" : "sensor node") : (german ? "Messknoten" : "sensor nodes");
        try
        {
            return CapArea.FromPoints($"{site}, {what} {string.Join(", ", step.Evidence.Nodes)}", points, step.Definition.RadiusKm);
        }
        catch (ArgumentException e)
        {
            // A node reported an impossible position; the message still goes out, without an area.
            LogNoArea(step.AlertId, e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "CAP message {Identifier} has no web link: the CAP feed on a port picked at start does not listen yet")]
    private partial void LogNoWeb(string identifier);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {AlertId}: no CAP area from the nodes' positions: {Reason}")]
    private partial void LogNoArea(string alertId, string reason);
}
