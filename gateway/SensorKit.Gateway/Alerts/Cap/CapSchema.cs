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
        var settings = new XmlReaderSettings
        {
            ValidationType = ValidationType.Schema,
            ValidationFlags = XmlSchemaValidationFlags.ReportValidationWarnings,
            Schemas = s_schemas.Value,
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
        };
        settings.ValidationEventHandler += (_, e) => errors.Add(
            $"line {e.Exception.LineNumber}, position {e.Exception.LinePosition}: {e.Message}");

        lock (s_validateLock)
        {
            try
            {
                using var reader = createReader(settings);
                while (reader.Read())
                {
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
