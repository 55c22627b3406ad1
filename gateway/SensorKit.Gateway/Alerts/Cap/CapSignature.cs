using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Xml;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>
/// Checks a signed CAP message the way a consumer should: against a certificate it trusts (pinned by fingerprint),
/// never against whatever key the message itself carries, and only the signature form <see cref="CapSigner"/>
/// makes, so a signature over part of the document cannot vouch for the rest.
/// </summary>
public static class CapSignature
{
    /// <summary>True if <paramref name="document"/> is signed with <paramref name="trusted"/>'s key and unchanged since.</summary>
    /// <param name="failure">Why not, when false.</param>
    public static bool Verify(byte[] document, X509Certificate2 trusted, out string failure)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(trusted);
        XmlDocument xml;
        try
        {
            xml = Parse(document);
        }
        catch (XmlException e)
        {
            failure = $"not well-formed: {e.Message}";
            return false;
        }

        XmlElement root = xml.DocumentElement!;
        if (root.LocalName != "alert" || root.NamespaceURI != CapWriter.Namespace)
        {
            failure = "the root is not a CAP 1.2 alert";
            return false;
        }

        XmlNodeList signatures = xml.GetElementsByTagName("Signature", SignedXml.XmlDsigNamespaceUrl);
        if (signatures.Count != 1 || signatures[0]!.ParentNode != root)
        {
            failure = $"expected one Signature as a child of alert, found {signatures.Count}" + (signatures.Count == 1 ? " elsewhere" : string.Empty);
            return false;
        }

        var signed = new SignedXml(xml);
        try
        {
            signed.LoadXml((XmlElement)signatures[0]!);
        }
        catch (CryptographicException e)
        {
            failure = $"the Signature is malformed: {e.Message}";
            return false;
        }

        SignedInfo info = signed.SignedInfo!;
        if (info.References.Count != 1 || info.References[0] is not Reference { Uri: "" } reference)
        {
            failure = "the signature must have one Reference, URI=\"\" (the whole message)";
            return false;
        }

        TransformChain chain = reference.TransformChain;
        string[] transforms = [.. Enumerable.Range(0, chain.Count).Select(i => chain[i].Algorithm ?? string.Empty)];
        if (transforms is not [SignedXml.XmlDsigEnvelopedSignatureTransformUrl, SignedXml.XmlDsigExcC14NTransformUrl]
            || info.CanonicalizationMethod != SignedXml.XmlDsigExcC14NTransformUrl
            || info.SignatureMethod != SignedXml.XmlDsigRSASHA256Url
            || reference.DigestMethod != SignedXml.XmlDsigSHA256Url)
        {
            failure = $"unexpected algorithms: c14n {info.CanonicalizationMethod}, signature {info.SignatureMethod}, digest {reference.DigestMethod}, transforms {string.Join(", ", transforms)}";
            return false;
        }

        X509Certificate2[] carried = [.. signed.KeyInfo.OfType<KeyInfoX509Data>().SelectMany(d => d.Certificates?.Cast<X509Certificate2>() ?? [])];
        if (!carried.Any(c => c.RawDataMemory.Span.SequenceEqual(trusted.RawDataMemory.Span)))
        {
            failure = "signed with another certificate: "
                + (carried.Length == 0 ? "none in KeyInfo" : string.Join(", ", carried.Select(c => $"{c.Subject}, SHA-256 {CapSigningKey.Fingerprint(c)}")));
            return false;
        }

        // The key comes from the trusted certificate; the one in KeyInfo was only compared above.
        if (!signed.CheckSignature(trusted, verifySignatureOnly: true))
        {
            failure = "the signature does not match the message: it was changed after signing";
            return false;
        }

        failure = string.Empty;
        return true;
    }

    /// <summary>Parses as the signer and verifier must: whitespace kept (it is signed), no DTD, nothing fetched.</summary>
    internal static XmlDocument Parse(byte[] document)
    {
        var xml = new XmlDocument { PreserveWhitespace = true, XmlResolver = null };
        using var stream = new MemoryStream(document, writable: false);
        using var reader = XmlReader.Create(stream, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
        xml.Load(reader);
        return xml;
    }
}
