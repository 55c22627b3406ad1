using System.Xml;
using System.Xml.Schema;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>
/// Validates documents against the official OASIS CAP 1.2 schema (CAP-v1.2.xsd, embedded in this assembly).
/// The gateway validates every message before publishing it.
/// </summary>
public static class CapSchema
{
    private const string ResourceName = "SensorKit.Gateway.Alerts.Cap.CAP-v1.2.xsd";
    private const string DsigNamespace = "http://www.w3.org/2000/09/xmldsig#";

    private static readonly Lazy<XmlSchemaSet> s_schemas = new(Compile);

    // XmlSchemaSet documents no thread safety for instance members, and validating readers touch its name
    // table; CAP traffic is a handful of messages, so serialising validation costs nothing measurable.
    private static readonly Lock s_validateLock = new();

    /// <summary>
    /// Every schema error in <paramref name="xml"/>, each prefixed with "line L, position P: ".
    /// An empty list means the document is valid CAP 1.2.
    /// </summary>
    /// <remarks>
    /// Validation warnings count as errors: the validator only warns when it finds no schema for an element, e.g.
    /// a root outside the CAP namespace, and such a document would otherwise pass with nothing checked.
    /// A document that is not well-formed yields the parser error.
    /// The one exception is the alert's trailing XML signature (§3.3.2.1): the schema admits elements of the
    /// XML-DSig namespace there with processContents="lax", and none of the DSig schema is embedded, so the
    /// validator's "no schema information" warnings for that subtree are expected. Its placement is still checked;
    /// its content is checked by <see cref="CapSignature.Verify"/>.
    /// </remarks>
    public static IReadOnlyList<string> Validate(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        using var text = new StringReader(xml);
        return Validate(settings => XmlReader.Create(text, settings));
    }

    /// <summary>As <see cref="Validate(string)"/>, reading bytes in the encoding the XML declaration names; the stream is left open.</summary>
    public static IReadOnlyList<string> Validate(Stream xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        return Validate(settings => XmlReader.Create(xml, settings));
    }

    private static List<string> Validate(Func<XmlReaderSettings, XmlReader> createReader)
    {
        var errors = new List<string>();
        bool inSignature = false;
        var settings = new XmlReaderSettings
        {
            ValidationType = ValidationType.Schema,
            ValidationFlags = XmlSchemaValidationFlags.ReportValidationWarnings,
            Schemas = s_schemas.Value,
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
        };
        settings.ValidationEventHandler += (sender, e) =>
        {
            if (e.Severity == XmlSeverityType.Warning && sender is XmlReader at)
            {
                // Depth 1 is a child of the root: where the alert's lax wildcard admits the signature.
                if (at is { NodeType: XmlNodeType.Element, Depth: 1, NamespaceURI: DsigNamespace })
                {
                    inSignature = true;
                    return;
                }

                if (inSignature && at.Depth > 1)
                {
                    return;
                }
            }

            errors.Add($"line {e.Exception.LineNumber}, position {e.Exception.LinePosition}: {e.Message}");
        };

        lock (s_validateLock)
        {
            try
            {
                using var reader = createReader(settings);
                while (reader.Read())
                {
                    // Out of the signature once its end (or anything else of the alert's) is read.
                    if (reader.Depth <= 1 && (reader.NodeType == XmlNodeType.EndElement || (reader.NodeType == XmlNodeType.Element && reader.NamespaceURI != DsigNamespace)))
                    {
                        inSignature = false;
                    }
                }
            }
            catch (XmlException e)
            {
                // Not well-formed: reading stops here, so this is the last error there is to report.
                errors.Add($"line {e.LineNumber}, position {e.LinePosition}: {e.Message}");
            }
        }

        return errors;
    }

    private static XmlSchemaSet Compile()
    {
        using var stream = typeof(CapSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing from the gateway assembly.");
        using var reader = XmlReader.Create(stream, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });

        var set = new XmlSchemaSet { XmlResolver = null };
        set.Add(CapWriter.Namespace, reader);
        set.Compile();
        return set;
    }
}
