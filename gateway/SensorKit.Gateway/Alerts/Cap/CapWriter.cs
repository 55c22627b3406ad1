using System.Buffers;
using System.Globalization;
using System.Text;
using System.Xml;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>
/// Writes a <see cref="CapAlert"/> as an OASIS CAP 1.2 document: UTF-8 without byte order mark, two-space
/// indent, LF line ends, elements in the order the schema's sequences require.
/// </summary>
/// <remarks>
/// The writer rejects what the schema cannot catch (character rules of identifier and sender, closed polygons,
/// missing references); run <see cref="CapSchema.Validate(string)"/> on the result before publishing.
/// All-clear convention: CAP 1.2 has no msgType for it; an all-clear is <c>msgType</c> Update (§3.2.1:
/// "updates and supercedes the earlier message(s) identified in references") whose info carries
/// <c>responseType</c> AllClear (§3.2.2: "the subject event no longer poses a threat or concern and any
/// follow on action is described in instruction"). Cancel withdraws a message, e.g. one raised in error; it is
/// not an all-clear.
/// </remarks>
public static class CapWriter
{
    public const string Namespace = "urn:oasis:names:tc:emergency:cap:1.2";

    /// <summary>Media type of a CAP document, for feed links and HTTP responses.</summary>
    public const string MediaType = "application/cap+xml";

    // CAP 1.2 §3.3.2 (DateTime Data Type): "YYYY-MM-DDThh:mm:ssXzh:zm", whole seconds, numeric offset;
    // alphabetic designators such as "Z" MUST NOT be used, and "the timezone for UTC MUST be represented
    // as -00:00" (§3.2.1, sent). Local times keep their own offset (e.g. "+02:00" for CEST).
    private const string DateTimeFormat = "yyyy-MM-dd'T'HH:mm:sszzz";

    /// <summary>Writes the document to <paramref name="output"/> (left open). Nothing is written if the alert is invalid.</summary>
    /// <exception cref="ArgumentException">The alert breaks a CAP rule; the message names the field.</exception>
    public static void Write(CapAlert alert, Stream output)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(output);
        EnsureValid(alert);

        using (var xml = XmlWriter.Create(output, CreateSettings()))
        {
            WriteAlert(xml, alert);
        }

        // XmlWriter ends at the root's end tag; a final newline keeps stored copies line-oriented tools friendly.
        output.WriteByte((byte)'\n');
    }

    /// <inheritdoc cref="Write(CapAlert, Stream)"/>
    public static void Write(CapAlert alert, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Write(ToUtf8Bytes(alert));
    }

    /// <inheritdoc cref="Write(CapAlert, Stream)"/>
    public static byte[] ToUtf8Bytes(CapAlert alert)
    {
        using var buffer = new MemoryStream();
        Write(alert, buffer);
        return buffer.ToArray();
    }

    /// <summary>The document as a string; its declaration says UTF-8, so publish it as UTF-8 bytes.</summary>
    /// <inheritdoc cref="Write(CapAlert, Stream)"/>
    public static string ToXml(CapAlert alert) => Encoding.UTF8.GetString(ToUtf8Bytes(alert));

    /// <summary>A CAP dateTime (§3.3.2): to the second, with the value's own numeric offset, never "Z".</summary>
    public static string FormatDateTime(DateTimeOffset value)
    {
        string text = value.ToString(DateTimeFormat, CultureInfo.InvariantCulture);
        return value.Offset == TimeSpan.Zero ? text[..^6] + "-00:00" : text;
    }

    /// <summary>The extended message identifier "sender,identifier,sent" used in <c>references</c> (§3.2.1).</summary>
    public static string FormatReference(CapReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return $"{reference.Sender},{reference.Identifier},{FormatDateTime(reference.Sent)}";
    }

    /// <summary>Throws if the alert breaks a CAP 1.2 rule the schema does not check.</summary>
    /// <exception cref="ArgumentException">The message and <see cref="ArgumentException.ParamName"/> name the field.</exception>
    public static void EnsureValid(CapAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        CheckToken(alert.Identifier, "identifier", nameof(CapAlert.Identifier));
        CheckToken(alert.Sender, "sender", nameof(CapAlert.Sender));

        // §3.2.1 scope: Restricted needs a restriction, Private needs addresses.
        if (alert.Scope == CapScope.Restricted && string.IsNullOrWhiteSpace(alert.Restriction))
        {
            throw Invalid(nameof(CapAlert.Restriction), "CAP restriction is required when scope is Restricted (CAP 1.2 §3.2.1).");
        }

        if (alert.Scope == CapScope.Private && string.IsNullOrWhiteSpace(alert.Addresses))
        {
            throw Invalid(nameof(CapAlert.Addresses), "CAP addresses is required when scope is Private (CAP 1.2 §3.2.1).");
        }

        // §3.2.1 msgType: Update, Cancel, Ack and Error all act on "the earlier message(s) identified in references".
        if (alert.MsgType != CapMsgType.Alert && alert.References.Count == 0)
        {
            throw Invalid(nameof(CapAlert.References), $"CAP references is required for msgType {alert.MsgType} (CAP 1.2 §3.2.1).");
        }

        for (var i = 0; i < alert.References.Count; i++)
        {
            var reference = alert.References[i] ?? throw Invalid($"References[{i}]", "CAP reference must not be null.");
            CheckToken(reference.Sender, "references sender", $"References[{i}].Sender");
            CheckToken(reference.Identifier, "references identifier", $"References[{i}].Identifier");
        }

        for (var i = 0; i < alert.Infos.Count; i++)
        {
            CheckInfo(alert.Infos[i] ?? throw Invalid($"Infos[{i}]", "CAP info must not be null."), $"Infos[{i}]");
        }
    }

    // ParamName is the path of the offending field below the alert argument, e.g. "alert.Infos[0].Area".
    private static ArgumentException Invalid(string field, string message) => new(message, "alert." + field);

    private static XmlWriterSettings CreateSettings() => new()
    {
        Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        Indent = true,
        IndentChars = "  ",
        NewLineChars = "\n",
        NewLineHandling = NewLineHandling.Replace,
        CloseOutput = false,
    };

    // §3.2.1: identifier and sender "MUST NOT include spaces, commas or restricted characters (< and &)".
    // Any whitespace is refused, since references separates its triples by whitespace.
    private static void CheckToken(string? value, string element, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw Invalid(field, $"CAP {element} must not be empty (CAP 1.2 §3.2.1).");
        }

        foreach (var c in value)
        {
            if (char.IsWhiteSpace(c) || c is ',' or '<' or '&')
            {
                throw Invalid(field, $"CAP {element} must not contain spaces, commas, '<' or '&' (CAP 1.2 §3.2.1), got \"{value}\".");
            }
        }
    }

    private static void CheckInfo(CapInfo info, string field)
    {
        if (string.IsNullOrWhiteSpace(info.Language))
        {
            throw Invalid($"{field}.Language", "CAP language must not be empty (CAP 1.2 §3.2.2).");
        }

        if (info.Categories is null || info.Categories.Count == 0)
        {
            throw Invalid($"{field}.Categories", "CAP info needs at least one category (CAP 1.2 §3.2.2).");
        }

        if (string.IsNullOrWhiteSpace(info.Event))
        {
            throw Invalid($"{field}.Event", "CAP event must not be empty (CAP 1.2 §3.2.2).");
        }

        if (info.Web is { IsAbsoluteUri: false })
        {
            throw Invalid($"{field}.Web", "CAP web must be an absolute URI (CAP 1.2 §3.2.2).");
        }

        if (info.Area is { } area)
        {
            CheckArea(area, $"{field}.Area");
        }
    }

    private static void CheckArea(CapArea area, string field)
    {
        if (string.IsNullOrWhiteSpace(area.AreaDesc))
        {
            throw Invalid($"{field}.AreaDesc", "CAP areaDesc must not be empty (CAP 1.2 §3.2.4).");
        }

        for (var i = 0; i < area.Polygons.Count; i++)
        {
            var polygon = area.Polygons[i];
            var name = $"{field}.Polygons[{i}]";

            // §3.2.4 polygon: "A minimum of 4 coordinate pairs MUST be present and the first and last pairs of
            // coordinates MUST be the same." Compared as written, so rounding cannot open a closed ring.
            if (polygon is null || polygon.Count < 4)
            {
                throw Invalid(name, "CAP polygon needs at least 4 coordinate pairs (CAP 1.2 §3.2.4).");
            }

            foreach (var (lat, lon) in polygon)
            {
                CheckCoordinate(lat, lon, name);
            }

            if (FormatPoint(polygon[0].Lat, polygon[0].Lon) != FormatPoint(polygon[^1].Lat, polygon[^1].Lon))
            {
                throw Invalid(name, "CAP polygon must be closed: first and last pairs equal (CAP 1.2 §3.2.4).");
            }
        }

        for (var i = 0; i < area.Circles.Count; i++)
        {
            var circle = area.Circles[i];
            var name = $"{field}.Circles[{i}]";
            CheckCoordinate(circle.Lat, circle.Lon, name);
            if (!double.IsFinite(circle.RadiusKm) || circle.RadiusKm < 0)
            {
                throw Invalid(name, "CAP circle radius must be a non-negative number of kilometres (CAP 1.2 §3.2.4).");
            }
        }

        if (area.Altitude is { } altitude && !double.IsFinite(altitude))
        {
            throw Invalid($"{field}.Altitude", "CAP altitude must be a finite number (CAP 1.2 §3.2.4).");
        }

        // §3.2.4 ceiling: "MUST NOT be used except in combination with the altitude element".
        if (area.Ceiling is { } ceiling && (area.Altitude is null || !double.IsFinite(ceiling)))
        {
            throw Invalid($"{field}.Ceiling", "CAP ceiling needs an altitude and must be a finite number (CAP 1.2 §3.2.4).");
        }
    }

    private static void CheckCoordinate(double lat, double lon, string field)
    {
        if (!double.IsFinite(lat) || !double.IsFinite(lon) || Math.Abs(lat) > 90 || Math.Abs(lon) > 180)
        {
            throw Invalid(field, $"({lat}, {lon}) is not a WGS 84 latitude/longitude (CAP 1.2 §3.2.4).");
        }
    }

    private static void WriteAlert(XmlWriter xml, CapAlert alert)
    {
        xml.WriteStartDocument();
        xml.WriteStartElement("alert", Namespace);

        // Order fixed by the alert sequence of CAP-v1.2.xsd (§3.2.1).
        Element(xml, "identifier", alert.Identifier);
        Element(xml, "sender", alert.Sender);
        Element(xml, "sent", FormatDateTime(alert.Sent));
        Element(xml, "status", alert.Status.ToString());
        Element(xml, "msgType", alert.MsgType.ToString());
        Element(xml, "source", alert.Source);
        Element(xml, "scope", alert.Scope.ToString());
        Element(xml, "restriction", alert.Restriction);
        Element(xml, "addresses", alert.Addresses);
        Element(xml, "note", alert.Note);
        if (alert.References.Count > 0)
        {
            Element(xml, "references", string.Join(' ', alert.References.Select(FormatReference)));
        }

        foreach (var info in alert.Infos)
        {
            WriteInfo(xml, info);
        }

        xml.WriteEndElement();
        xml.WriteEndDocument();
    }

    private static void WriteInfo(XmlWriter xml, CapInfo info)
    {
        xml.WriteStartElement("info", Namespace);

        // Order fixed by the info sequence of CAP-v1.2.xsd (§3.2.2).
        Element(xml, "language", info.Language);
        foreach (var category in info.Categories)
        {
            Element(xml, "category", category.ToString());
        }

        Element(xml, "event", info.Event);
        foreach (var responseType in info.ResponseTypes)
        {
            Element(xml, "responseType", responseType.ToString());
        }

        Element(xml, "urgency", info.Urgency.ToString());
        Element(xml, "severity", info.Severity.ToString());
        Element(xml, "certainty", info.Certainty.ToString());
        if (info.Onset is { } onset)
        {
            Element(xml, "onset", FormatDateTime(onset));
        }

        if (info.Expires is { } expires)
        {
            Element(xml, "expires", FormatDateTime(expires));
        }

        Element(xml, "senderName", info.SenderName);
        Element(xml, "headline", info.Headline);
        Element(xml, "description", info.Description);
        Element(xml, "instruction", info.Instruction);
        Element(xml, "web", info.Web?.AbsoluteUri);
        Element(xml, "contact", info.Contact);
        foreach (var parameter in info.Parameters)
        {
            xml.WriteStartElement("parameter", Namespace);
            Element(xml, "valueName", parameter.ValueName);
            Element(xml, "value", parameter.Value);
            xml.WriteEndElement();
        }

        if (info.Area is { } area)
        {
            WriteArea(xml, area);
        }

        xml.WriteEndElement();
    }

    private static void WriteArea(XmlWriter xml, CapArea area)
    {
        xml.WriteStartElement("area", Namespace);
        Element(xml, "areaDesc", area.AreaDesc);

        // §3.2.4: pairs are "lat,lon" separated by whitespace; a circle is a pair, a space and the radius in km.
        foreach (var polygon in area.Polygons)
        {
            Element(xml, "polygon", string.Join(' ', polygon.Select(p => FormatPoint(p.Lat, p.Lon))));
        }

        foreach (var circle in area.Circles)
        {
            Element(xml, "circle", $"{FormatPoint(circle.Lat, circle.Lon)} {FormatDecimal(circle.RadiusKm)}");
        }

        if (area.Altitude is { } altitude)
        {
            Element(xml, "altitude", FormatDecimal(altitude));
        }

        if (area.Ceiling is { } ceiling)
        {
            Element(xml, "ceiling", FormatDecimal(ceiling));
        }

        xml.WriteEndElement();
    }

    private static string FormatPoint(double lat, double lon) => $"{FormatCoordinate(lat)},{FormatCoordinate(lon)}";

    private static string FormatCoordinate(double degrees)
    {
        var rounded = Math.Round(degrees, CapArea.CoordinateDecimals, MidpointRounding.AwayFromZero);

        // Adding zero turns -0 into +0, so a coordinate a hair west of Greenwich never prints as "-0.00000".
        return (rounded + 0.0).ToString("F" + CapArea.CoordinateDecimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    // xs:decimal has no exponent form, so "R" or "G" could produce something the schema rejects.
    private static string FormatDecimal(double value) => (Math.Round(value, 3) + 0.0).ToString("0.###", CultureInfo.InvariantCulture);

    // Optional elements with no value are omitted rather than written empty.
    private static void Element(XmlWriter xml, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            xml.WriteElementString(name, Namespace, value);
        }
    }
}
