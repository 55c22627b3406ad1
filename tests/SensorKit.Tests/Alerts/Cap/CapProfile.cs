using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace SensorKit.Tests.Alerts.Cap;

/// <summary>
/// The rules of the Google Public Alerts CAP profile, as google/cap-library states them (GoogleProfile: its errors
/// and its recommendations, all treated as errors here), the CAP 1.2 rules its CapValidator and parser add to the
/// schema, and what holds across the messages one gateway publishes (<see cref="Stream"/>). Each finding starts
/// with its code, so a test can allow one on purpose.
/// </summary>
internal static partial class CapProfile
{
    private static readonly XNamespace Ns = CapTestSupport.CapNs;

    /// <summary>The findings for one message; empty when it passes.</summary>
    public static List<string> Check(string xml)
    {
        var found = new List<string>();
        XElement alert = XDocument.Parse(xml).Root!;
        string identifier = Text(alert, "identifier");
        string sender = Text(alert, "sender");
        string msgType = Text(alert, "msgType");
        DateTimeOffset? sent = Time(found, "sent", Text(alert, "sent"));
        CheckToken(found, "identifier", identifier);
        CheckToken(found, "sender", sender);

        // References: "sender,identifier,sent" triples, never the message itself, never later than it (CapValidator).
        string[] references = Text(alert, "references").Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
        if (msgType is "Update" or "Cancel" && references.Length == 0)
        {
            found.Add($"update-or-cancel-must-reference: msgType {msgType} without references");
        }

        if (msgType == "Alert" && references.Length > 0)
        {
            found.Add("alert-with-references: msgType Alert starts an alert and references nothing");
        }

        foreach (string reference in references)
        {
            if (Reference.TryParse(reference) is not { } r)
            {
                found.Add($"references-format: '{reference}' is not a sender,identifier,sent triple");
                continue;
            }

            if (r.Identifier == identifier && r.Sender == sender)
            {
                found.Add($"circular-reference: '{reference}'");
            }

            if (sent is { } s && r.Sent > s)
            {
                found.Add($"postdated-reference: '{reference}' is later than sent {s:O}");
            }
        }

        string scope = Text(alert, "scope");
        if ((scope == "Restricted") != (Text(alert, "restriction").Length > 0))
        {
            found.Add("restriction-scope: restriction is given exactly when scope is Restricted");
        }

        XElement[] infos = [.. alert.Elements(Ns + "info")];
        if (infos.Length == 0)
        {
            found.Add("info-required: no info block");
        }

        var categories = new HashSet<string>[infos.Length];
        var eventByLanguage = new Dictionary<string, string>(StringComparer.Ordinal);
        var textLanguage = new Dictionary<(string Field, string Text), string>();
        for (int i = 0; i < infos.Length; i++)
        {
            CheckInfo(found, infos[i], $"info[{i + 1}]", sent, eventByLanguage, textLanguage);
            categories[i] = [.. infos[i].Elements(Ns + "category").Select(c => c.Value)];
            if (i > 0 && !categories[i].SetEquals(categories[0]))
            {
                found.Add($"categories-must-match: info[{i + 1}]");
            }

            if (i > 0 && !EventCodes(infos[i]).SetEquals(EventCodes(infos[0])))
            {
                found.Add($"event-codes-must-match: info[{i + 1}]");
            }
        }

        return found;
    }

    private static void CheckInfo(List<string> found, XElement info, string at, DateTimeOffset? sent, Dictionary<string, string> eventByLanguage, Dictionary<(string Field, string Text), string> textLanguage)
    {
        string language = Text(info, "language");
        if (!LanguageTag().IsMatch(language.Length == 0 ? "en-US" : language))
        {
            found.Add($"language: {at} '{language}' is not an RFC 3066 tag");
        }

        string description = Text(info, "description");
        string headline = Text(info, "headline");
        string instruction = Text(info, "instruction");
        Require(found, "description-required", at, description);
        Require(found, "web-required", at, Text(info, "web"));
        Require(found, "expires-required", at, Text(info, "expires"));
        Require(found, "urgency-required", at, Text(info, "urgency"));
        Require(found, "severity-required", at, Text(info, "severity"));
        Require(found, "certainty-required", at, Text(info, "certainty"));
        Require(found, "sender-name", at, Text(info, "senderName"));
        Require(found, "instruction", at, instruction);
        Require(found, "contact", at, Text(info, "contact"));
        if (!info.Elements(Ns + "responseType").Any())
        {
            found.Add($"response-type: {at} has none");
        }

        string web = Text(info, "web");
        if (web.Length > 0 && (!Uri.TryCreate(web, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https")))
        {
            found.Add($"web-absolute: {at} '{web}' is not an absolute http(s) URL");
        }

        // The profile: effective (or else sent) must not come after expires; a message that expires as it is sent says nothing.
        DateTimeOffset? effective = info.Element(Ns + "effective") is { } e ? Time(found, $"{at}/effective", e.Value) : sent;
        if (Text(info, "expires") is { Length: > 0 } expiresText && Time(found, $"{at}/expires", expiresText) is { } expires && effective is { } from && expires <= from)
        {
            found.Add($"expires-after-sent: {at} expires {expiresText} is not after {from:O}");
        }

        foreach (string field in (string[])["onset", "effective"])
        {
            if (info.Element(Ns + field) is { } t)
            {
                Time(found, $"{at}/{field}", t.Value);
            }
        }

        if (headline.Length > 140)
        {
            found.Add($"headline-too-long: {at} has {headline.Length} characters, at most 140");
        }

        if (headline.Length > 0 && headline == description)
        {
            found.Add($"headline-and-description-differ: {at}");
        }

        if (instruction.Length > 0 && instruction == description)
        {
            found.Add($"description-and-instruction-differ: {at}");
        }

        foreach (string field in (string[])["urgency", "severity", "certainty"])
        {
            if (Text(info, field) == "Unknown")
            {
                found.Add($"unknown-{field}: {at}");
            }
        }

        string eventName = Text(info, "event");
        if (eventByLanguage.TryGetValue(language, out string? earlier) && earlier != eventName)
        {
            found.Add($"events-in-same-language-match: {at} '{eventName}' after '{earlier}'");
        }

        eventByLanguage.TryAdd(language, eventName);

        // Text in one language must not reappear in another language's info (CapValidator: same text, different language).
        string primary = language.Split('-')[0];
        foreach ((string field, string text) in new[] { ("event", eventName), ("headline", headline), ("description", description), ("instruction", instruction) })
        {
            if (text.Length == 0)
            {
                continue;
            }

            if (textLanguage.TryGetValue((field, text), out string? other) && other != primary)
            {
                found.Add($"same-text-different-language: {at}/{field} '{text}'");
            }

            textLanguage.TryAdd((field, text), primary);
            if (HtmlTag().IsMatch(text) || HtmlEntity().IsMatch(text))
            {
                found.Add($"html: {at}/{field} contains HTML");
            }
        }

        XElement[] areas = [.. info.Elements(Ns + "area")];
        if (areas.Length == 0)
        {
            found.Add($"area-required: {at} has no area");
        }

        for (int j = 0; j < areas.Length; j++)
        {
            CheckArea(found, areas[j], $"{at}/area[{j + 1}]");
        }
    }

    private static void CheckArea(List<string> found, XElement area, string at)
    {
        XElement[] polygons = [.. area.Elements(Ns + "polygon")];
        XElement[] circles = [.. area.Elements(Ns + "circle")];
        XElement[] geocodes = [.. area.Elements(Ns + "geocode")];
        if (polygons.Length + circles.Length + geocodes.Length == 0)
        {
            found.Add($"circle-polygon-or-geocode-required: {at}");
        }

        foreach (XElement polygon in polygons)
        {
            List<(double Lat, double Lon)> ring = CapTestSupport.ParsePairs(polygon.Value);
            string[] pairs = polygon.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (ring.Count < 4 || pairs[0] != pairs[^1])
            {
                found.Add($"polygon: {at} needs 4 or more pairs, the first equal to the last");
            }
            else if (SelfIntersects(ring))
            {
                found.Add($"polygon-self-intersection: {at}");
            }
        }

        foreach (XElement circle in circles)
        {
            string[] parts = circle.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || !double.TryParse(parts[1], CultureInfo.InvariantCulture, out double radius))
            {
                found.Add($"circle: {at} '{circle.Value}' is not 'lat,lon radius'");
            }
            else if (radius <= 0)
            {
                found.Add($"nonzero-circle-radius: {at}");
            }
        }

        foreach (XElement geocode in geocodes)
        {
            if (Text(geocode, "valueName").Length == 0 || Text(geocode, "value").Length == 0)
            {
                found.Add($"empty-geocode: {at}");
            }
        }

        if (area.Element(Ns + "ceiling") is { } ceiling
            && (area.Element(Ns + "altitude") is not { } altitude || double.Parse(altitude.Value, CultureInfo.InvariantCulture) > double.Parse(ceiling.Value, CultureInfo.InvariantCulture)))
        {
            found.Add($"altitude-ceiling: {at}");
        }
    }

    // Edges that cross, other than neighbours meeting at their shared corner (CapValidator: self-intersection).
    private static bool SelfIntersects(List<(double Lat, double Lon)> ring)
    {
        int edges = ring.Count - 1;
        for (int a = 0; a < edges; a++)
        {
            for (int b = a + 2; b < edges; b++)
            {
                if (a == 0 && b == edges - 1)
                {
                    continue;
                }

                if (Cross(ring[a], ring[a + 1], ring[b], ring[b + 1]))
                {
                    return true;
                }
            }
        }

        return false;

        static double Side((double Lat, double Lon) p, (double Lat, double Lon) q, (double Lat, double Lon) r) =>
            ((q.Lon - p.Lon) * (r.Lat - p.Lat)) - ((q.Lat - p.Lat) * (r.Lon - p.Lon));

        static bool Cross((double, double) p1, (double, double) p2, (double, double) q1, (double, double) q2) =>
            Math.Sign(Side(p1, p2, q1)) * Math.Sign(Side(p1, p2, q2)) < 0 && Math.Sign(Side(q1, q2, p1)) * Math.Sign(Side(q1, q2, p2)) < 0;
    }

    private static HashSet<string> EventCodes(XElement info) =>
        [.. info.Elements(Ns + "eventCode").Select(c => $"{Text(c, "valueName")}={Text(c, "value")}")];

    private static void Require(List<string> found, string code, string at, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            found.Add($"{code}: {at} has no {code.Replace("-required", string.Empty, StringComparison.Ordinal)}");
        }
    }

    // CAP 1.2 §3.2.1: no spaces, commas or restricted characters (< and &).
    private static void CheckToken(List<string> found, string field, string value)
    {
        if (value.Length == 0 || value.Any(c => char.IsWhiteSpace(c) || c is ',' or '<' or '&'))
        {
            found.Add($"{field}: '{value}' is empty or has spaces, commas, '<' or '&'");
        }
    }

    /// <summary>A CAP dateTime (§3.3.2): to the second, a numeric offset, never "Z".</summary>
    private static DateTimeOffset? Time(List<string> found, string field, string text)
    {
        if (!CapDateTime().IsMatch(text))
        {
            found.Add($"date-time: {field} '{text}' is not a CAP dateTime like 2002-05-24T16:49:00-07:00");
            return null;
        }

        return DateTimeOffset.ParseExact(text, "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
    }

    private static string Text(XElement parent, string name) => parent.Element(Ns + name)?.Value.Trim() ?? string.Empty;

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[-+]\d{2}:\d{2}$")]
    private static partial Regex CapDateTime();

    [GeneratedRegex("^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")]
    private static partial Regex LanguageTag();

    [GeneratedRegex("<[a-zA-Z/][^>]*>")]
    private static partial Regex HtmlTag();

    [GeneratedRegex("&[a-zA-Z]+;|&#[0-9]+;")]
    private static partial Regex HtmlEntity();

    /// <summary>One entry of references.</summary>
    public sealed record Reference(string Sender, string Identifier, DateTimeOffset Sent)
    {
        public static Reference? TryParse(string triple)
        {
            string[] p = triple.Split(',');
            if (p.Length != 3 || p[0].Length == 0 || p[1].Length == 0 || !CapDateTime().IsMatch(p[2]))
            {
                return null;
            }

            return new Reference(p[0], p[1], DateTimeOffset.ParseExact(p[2], "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// The messages one publisher sent, in order: each passes <see cref="Check"/>, an identifier is never reused for
    /// other content (a resend after a restart is the same bytes), a reference to a message seen names it exactly,
    /// an Update or Cancel references every earlier message of its alert that has not expired (the profile's
    /// "all related messages that have not yet expired must be referenced"), and an alert that has not ended never
    /// lapses: its next message comes before the last one expires.
    /// </summary>
    public sealed class Stream
    {
        private readonly Dictionary<(string Sender, string Identifier), (string Xml, DateTimeOffset Sent)> _seen = [];
        private readonly Dictionary<string, List<Message>> _alerts = new(StringComparer.Ordinal);

        /// <summary>Codes a test allows on purpose, e.g. "area-required" for nodes that never said where they are.</summary>
        public HashSet<string> Allowed { get; } = new(StringComparer.Ordinal);

        /// <summary>
        /// Whether a lapse counts: only where the publisher's clock ran all along (re-issues come from its ticks),
        /// not where a test moves time with telemetry alone.
        /// </summary>
        public bool CheckLapses { get; set; } = true;

        /// <summary>The findings for the next message; empty when it passes.</summary>
        public List<string> Add(string xml)
        {
            List<string> found = Check(xml);
            XElement alert = XDocument.Parse(xml).Root!;
            string sender = Text(alert, "sender");
            string identifier = Text(alert, "identifier");
            if (!DateTimeOffset.TryParseExact(Text(alert, "sent"), "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTimeOffset sent))
            {
                return Filter(found);
            }

            if (_seen.TryGetValue((sender, identifier), out var before))
            {
                if (before.Xml != xml)
                {
                    found.Add($"identifier-unique: {identifier} was sent before with other content");
                }

                return Filter(found);
            }

            _seen[(sender, identifier)] = (xml, sent);
            var references = Text(alert, "references").Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)
                .Select(Reference.TryParse).OfType<Reference>().ToList();
            foreach (Reference r in references)
            {
                if (_seen.TryGetValue((r.Sender, r.Identifier), out var target) && target.Sent != r.Sent)
                {
                    found.Add($"reference-matches: {r.Identifier} was sent at {target.Sent:O}, not {r.Sent:O}");
                }
            }

            // The gateway names each message's alert in a parameter; hand-written examples may not.
            string? alertId = alert.Elements(Ns + "info").Elements(Ns + "parameter")
                .FirstOrDefault(p => Text(p, "valueName") == "sensorkit:alertId") is { } parameter ? Text(parameter, "value") : null;
            if (alertId is null)
            {
                return Filter(found);
            }

            var message = new Message(identifier, sent, Expires(alert), Ended(alert));
            if (_alerts.TryGetValue(alertId, out List<Message>? earlier))
            {
                foreach (Message m in earlier.Where(m => m.Expires is { } e && e > sent && !references.Any(r => r.Identifier == m.Identifier)))
                {
                    found.Add($"references-all-unexpired: {identifier} does not reference {m.Identifier}, valid until {m.Expires:O}");
                }

                Message last = earlier[^1];
                if (CheckLapses && !last.Ended && last.Expires is { } lastExpires && sent > lastExpires)
                {
                    found.Add($"lapsed: alert {alertId} had no valid message from {lastExpires:O} until {identifier} at {sent:O}");
                }

                earlier.Add(message);
            }
            else
            {
                _alerts[alertId] = [message];
            }

            return Filter(found);
        }

        /// <summary>Alerts whose last message, not an end, has expired by <paramref name="now"/>: the publisher let them lapse.</summary>
        public IEnumerable<string> LapsedAt(DateTimeOffset now) =>
            _alerts.Where(a => a.Value[^1] is { Ended: false, Expires: { } e } && e <= now).Select(a => $"lapsed: alert {a.Key} expired at {a.Value[^1].Expires:O}");

        private List<string> Filter(List<string> found) => [.. found.Where(f => !Allowed.Contains(f[..f.IndexOf(':', StringComparison.Ordinal)]))];

        private static DateTimeOffset? Expires(XElement alert) =>
            alert.Elements(Ns + "info").Select(i => Text(i, "expires")).Where(t => t.Length > 0)
                .Select(t => (DateTimeOffset?)DateTimeOffset.ParseExact(t, "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture))
                .Min();

        private static bool Ended(XElement alert) =>
            Text(alert, "msgType") == "Cancel" || alert.Elements(Ns + "info").Elements(Ns + "responseType").Any(r => r.Value == "AllClear");

        private sealed record Message(string Identifier, DateTimeOffset Sent, DateTimeOffset? Expires, bool Ended);
    }
}
