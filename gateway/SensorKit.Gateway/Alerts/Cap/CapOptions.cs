using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Http;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>Configuration section "Cap": who sends the gateway's CAP 1.2 messages, and how they are marked.</summary>
public sealed class CapOptions
{
    public const string Section = "Cap";

    /// <summary>Globally unique sender id (CAP 1.2 §3.2.1), e.g. a domain name the operator owns.</summary>
    public string Sender { get; set; } = "sensorkit-gateway";

    /// <summary>Start of every message identifier; the rest is the alert id and the message's revision.</summary>
    public string IdentifierPrefix { get; set; } = "SK";

    /// <summary>
    /// Exercise (default: drills, simulation, anything not yet trusted), Actual (real alerts, set deliberately) or Test.
    /// Operator alerts go out as System when this is Actual.
    /// </summary>
    public CapStatus Status { get; set; } = CapStatus.Exercise;

    /// <summary>IANA time zone of <c>sent</c> and <c>onset</c>, e.g. Europe/Berlin; UTC is written as -00:00 (§3.3.2).</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>senderName per CAP language.</summary>
    public Dictionary<string, string> SenderName { get; set; } = new(StringComparer.Ordinal)
    {
        ["de-DE"] = "SensorKit Messnetz",
        ["en-US"] = "SensorKit sensor network",
    };

    /// <summary>How to reach the issuer (CAP contact), e.g. the control room's phone and e-mail; unset: <see cref="Sender"/>.</summary>
    public string? Contact { get; set; }

    /// <summary>
    /// CAP web: the alert's page, an absolute http(s) URL in which <c>{alertId}</c> and <c>{identifier}</c> are
    /// replaced. Unset: the message's own document in the CAP feed (CapFeed:PublicBaseUrl or the feed's address).
    /// </summary>
    public string? Web { get; set; }

    /// <summary>
    /// How long a message of an active alert is valid (expires = sent + this); the gateway re-issues the alert
    /// before then (<see cref="RefreshBefore"/>). A rule's own Expires wins.
    /// </summary>
    public TimeSpan Expires { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How long an all-clear or cancel is valid: long enough to be seen, short enough not to linger.</summary>
    public TimeSpan ExpiresEnded { get; set; } = TimeSpan.FromHours(1);

    /// <summary>An active alert is re-issued (CAP Update, same content) this long before its last message expires; at most half its validity.</summary>
    public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Readable site names for areaDesc, by site id and language.</summary>
    public Dictionary<string, Dictionary<string, string>> Sites { get; set; } = new(StringComparer.Ordinal);

    /// <summary>CAP note of exercise messages (§3.2.1 expects one).</summary>
    public string ExerciseNote { get; set; } = "Übung oder Simulation, keine reale Gefahr. / Exercise or simulation, no real danger.";

    /// <summary>CAP restriction of operator alerts, which go out with scope Restricted.</summary>
    public string OperatorRestriction { get; set; } = "Betriebsmeldung für Leitstelle und Messnetzbetreiber, nicht zur Veröffentlichung / Operator message for the control room and network operators, not for publication";

    /// <summary>The key every message is signed with (CAP 1.2 §3.3.2.1); none configured: the gateway's own, generated once.</summary>
    public CapSigningOptions Signing { get; set; } = new();
}

/// <summary>Section "Cap:Signing": PEM files of the certificate and RSA key the gateway signs its CAP messages with.</summary>
public sealed class CapSigningOptions
{
    /// <summary>PEM certificate ("BEGIN CERTIFICATE"); consumers pin its SHA-256 fingerprint. Relative to the gateway's folder.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>Unencrypted PEM RSA key of that certificate ("BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY"), readable by the gateway only.</summary>
    public string? KeyFile { get; set; }

    internal bool IsConfigured => !string.IsNullOrEmpty(CertificateFile) || !string.IsNullOrEmpty(KeyFile);
}

public sealed class CapOptionsValidator(IHostEnvironment environment, TimeProvider time, IOptions<CapFeedOptions> feed) : IValidateOptions<CapOptions>
{
    /// <summary>Longest Cap:Contact: a name, a phone number and an address fit easily; a paragraph does not belong there.</summary>
    public const int MaxContactLength = 200;

    /// <summary>Longest validity of a message; an alert lives on through re-issues, not through one message valid for weeks.</summary>
    public static readonly TimeSpan MaxExpires = SensorKit.Gateway.Contracts.AlertLimits.MaxExpires;

    public ValidateOptionsResult Validate(string? name, CapOptions o)
    {
        const string s = CapOptions.Section;
        var errors = new List<string>();
        CheckToken(errors, $"{s}:Sender", o.Sender);
        CheckToken(errors, $"{s}:IdentifierPrefix", o.IdentifierPrefix);
        if (o.Status is not (CapStatus.Actual or CapStatus.Exercise or CapStatus.Test))
        {
            errors.Add($"{s}:Status: '{o.Status}' is not one of Actual, Exercise, Test");
        }

        if (!TryFindTimeZone(o.TimeZone, out _))
        {
            errors.Add($"{s}:TimeZone: '{o.TimeZone}' is not a known IANA time zone such as Europe/Berlin");
        }

        ValidateLinks(errors, o);
        if (o.Contact is { } contact && (string.IsNullOrWhiteSpace(contact) || contact.Length > MaxContactLength || contact.Any(char.IsControl)))
        {
            errors.Add($"{s}:Contact: must be 1-{MaxContactLength} characters on one line, e.g. 'Leitstelle, +49 221 000000, leitstelle@example.org'");
        }

        if (o.Expires <= TimeSpan.Zero || o.Expires > MaxExpires)
        {
            errors.Add($"{s}:Expires: {o.Expires} must be above 0 and at most {MaxExpires.TotalDays:0} days");
        }

        if (o.ExpiresEnded <= TimeSpan.Zero || o.ExpiresEnded > MaxExpires)
        {
            errors.Add($"{s}:ExpiresEnded: {o.ExpiresEnded} must be above 0 and at most {MaxExpires.TotalDays:0} days");
        }

        if (o.RefreshBefore <= TimeSpan.Zero || o.RefreshBefore * 2 > o.Expires)
        {
            errors.Add($"{s}:RefreshBefore: {o.RefreshBefore} must be above 0 and at most half of {s}:Expires ({o.Expires})");
        }

        ValidateSigning(errors, o.Signing);

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // Every message needs a web link (the Google Public Alerts profile requires one): the template, or the feed.
    private void ValidateLinks(List<string> errors, CapOptions o)
    {
        const string s = CapOptions.Section;
        if (o.Web is null)
        {
            CapFeedOptions f = feed.Value;
            if (!f.Enabled && f.PublicBaseUrl is null)
            {
                errors.Add($"{s}:Web: required while {CapFeedOptions.Section}:Enabled is false and {CapFeedOptions.Section}:PublicBaseUrl is unset: every CAP message needs a web link");
            }

            return;
        }

        if (!CapWebLinks.TryExpand(o.Web, "alert-id", "identifier", out Uri? uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.Add($"{s}:Web: '{o.Web}' is not an absolute http(s) URL (placeholders: {{alertId}}, {{identifier}})");
        }
    }

    // Loads the key pair as the signer will, so a bad file stops the gateway at start rather than at the first alert.
    private void ValidateSigning(List<string> errors, CapSigningOptions signing)
    {
        const string k = CapSigningKey.Section;
        if (!signing.IsConfigured)
        {
            return;
        }

        if (string.IsNullOrEmpty(signing.CertificateFile) || string.IsNullOrEmpty(signing.KeyFile))
        {
            string missing = string.IsNullOrEmpty(signing.CertificateFile) ? "CertificateFile" : "KeyFile";
            string given = missing == "KeyFile" ? "CertificateFile" : "KeyFile";
            errors.Add($"{k}:{missing}: missing, but {k}:{given} is set; give both, or neither to sign with the gateway's own generated key");
            return;
        }

        foreach ((string key, string path) in new[] { ("CertificateFile", signing.CertificateFile), ("KeyFile", signing.KeyFile) })
        {
            if (path.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            {
                errors.Add($"{k}:{key}: '{path}' is not a file path");
                return;
            }
        }

        try
        {
            using var certificate = CapSigningKey.Load(signing, environment.ContentRootPath, time.GetUtcNow());
        }
        catch (GatewayConfigurationException e)
        {
            errors.Add(e.Message);
        }
    }

    internal static bool TryFindTimeZone(string id, out TimeZoneInfo zone)
    {
        if (id is "UTC" or "Etc/UTC")
        {
            zone = TimeZoneInfo.Utc;
            return true;
        }

        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            zone = TimeZoneInfo.Utc;
            return false;
        }
    }

    // CAP 1.2 §3.2.1: sender and identifier "MUST NOT include spaces, commas or restricted characters (< and &)".
    private static void CheckToken(List<string> errors, string key, string value)
    {
        if (string.IsNullOrEmpty(value) || value.Any(c => char.IsWhiteSpace(c) || c is ',' or '<' or '&'))
        {
            errors.Add($"{key}: '{value}' must be non-empty without spaces, commas, '<' or '&' (CAP 1.2 §3.2.1)");
        }
    }
}
