using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Text;
using System.Xml;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.State;
using SensorKit.Gateway.Storage;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>
/// Signs CAP documents (CAP 1.2 §3.3.2.1): one enveloped W3C XML signature, the alert's last child, over the whole
/// message (Reference URI="" with the enveloped-signature transform), exclusive c14n, RSA-SHA256 (PKCS#1 v1.5) and
/// the certificate in KeyInfo/X509Data. PKCS#1 v1.5 is deterministic: the same document and key give the same bytes.
/// </summary>
/// <remarks>
/// The signature is spliced into the writer's bytes rather than re-serialising the document, so every byte of the
/// message stays as <see cref="CapWriter"/> wrote it; the digest covers those bytes as parsed, plus the line break
/// and indent around the signature, which are added to the tree before signing.
/// </remarks>
public sealed partial class CapSigner : IDisposable
{
    private static readonly byte[] s_rootEnd = "</alert>\n"u8.ToArray();

    private readonly RSA _key;

    /// <summary>Signs with <paramref name="certificate"/>'s RSA private key; the signer owns the certificate from now on.</summary>
    public CapSigner(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        _key = certificate.GetRSAPrivateKey() ?? throw new ArgumentException("CAP signing needs a certificate with its RSA private key.", nameof(certificate));
        Certificate = certificate;
        Fingerprint = CapSigningKey.Fingerprint(certificate);
    }

    /// <summary>The certificate that goes into every signature; consumers verify against it.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>SHA-256 fingerprint of <see cref="Certificate"/>, "AB:CD:…" as openssl prints it.</summary>
    public string Fingerprint { get; }

    /// <summary>
    /// <paramref name="document"/> with its signature: the same bytes, with the signature inserted on lines of its
    /// own before the closing <c>&lt;/alert&gt;</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The document is not an unsigned CAP alert as <see cref="CapWriter"/> writes it.</exception>
    public byte[] Sign(byte[] document)
    {
        ArgumentNullException.ThrowIfNull(document);
        if (!document.AsSpan().EndsWith("\n</alert>\n"u8))
        {
            throw new ArgumentException("A CAP document to sign must end with \"\\n</alert>\\n\", as CapWriter writes it.", nameof(document));
        }

        XmlDocument xml = CapSignature.Parse(document);
        XmlElement root = xml.DocumentElement!;
        if (root.LocalName != "alert" || root.NamespaceURI != CapWriter.Namespace)
        {
            throw new ArgumentException($"The root of a CAP document is alert in {CapWriter.Namespace}.", nameof(document));
        }

        if (root.GetElementsByTagName("Signature", SignedXml.XmlDsigNamespaceUrl).Count > 0)
        {
            throw new ArgumentException("The CAP document is signed already.", nameof(document));
        }

        // The text before </alert> ends with the line break checked above. The signed document has the signature
        // between that text plus an indent and a final line break: the enveloped transform removes only the
        // Signature element, so this whitespace is digested and must be in the tree now.
        var tail = (XmlCharacterData)root.LastChild!;
        tail.Data += "  \n";

        var signed = new SignedXml(xml) { SigningKey = _key };
        signed.SignedInfo!.CanonicalizationMethod = SignedXml.XmlDsigExcC14NTransformUrl;
        signed.SignedInfo.SignatureMethod = SignedXml.XmlDsigRSASHA256Url;
        var reference = new Reference(string.Empty) { DigestMethod = SignedXml.XmlDsigSHA256Url };
        reference.AddTransform(new XmlDsigEnvelopedSignatureTransform());
        reference.AddTransform(new XmlDsigExcC14NTransform());
        signed.AddReference(reference);
        var keyInfo = new KeyInfo();
        keyInfo.AddClause(new KeyInfoX509Data(Certificate));
        signed.KeyInfo = keyInfo;
        signed.ComputeSignature();

        XmlElement signature = signed.GetXml();
        Indent(signature, 1);
        byte[] inserted = Encoding.UTF8.GetBytes("  " + signature.OuterXml + "\n");

        int at = document.Length - s_rootEnd.Length;
        var result = new byte[document.Length + inserted.Length];
        document.AsSpan(0, at).CopyTo(result);
        inserted.CopyTo(result.AsSpan(at));
        s_rootEnd.CopyTo(result.AsSpan(at + inserted.Length));
        return result;
    }

    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }

    /// <summary>
    /// The gateway's signer: the configured key pair (Cap:Signing), or the one generated in the state folder.
    /// Logs which certificate signs and its fingerprint, the value consumers pin.
    /// </summary>
    internal static CapSigner Create(IServiceProvider services)
    {
        CapOptions options = services.GetRequiredService<IOptions<CapOptions>>().Value;
        string contentRoot = services.GetRequiredService<IHostEnvironment>().ContentRootPath;
        DateTimeOffset now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        ILogger logger = services.GetRequiredService<ILogger<CapSigner>>();

        X509Certificate2 certificate;
        string path;
        if (options.Signing.IsConfigured)
        {
            certificate = CapSigningKey.Load(options.Signing, contentRoot, now);
            path = Path.GetFullPath(options.Signing.CertificateFile!, contentRoot);
        }
        else
        {
            string directory = services.GetRequiredService<IOptions<StateOptions>>().Value.ResolveDirectory(contentRoot);
            certificate = CapSigningKey.LoadOrCreate(directory, options.Sender, now, out bool created);
            path = Path.Combine(directory, CapSigningKey.GeneratedCertificateFile);
            if (created)
            {
                LogGenerated(logger, path, CapSigningKey.Section);
            }
        }

        var signer = new CapSigner(certificate);
        LogSigning(logger, path, signer.Fingerprint, certificate.Subject, certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        if (certificate.NotAfter.ToUniversalTime() - now.UtcDateTime < TimeSpan.FromDays(30))
        {
            LogExpiresSoon(logger, path, certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        }

        return signer;
    }

    // Line breaks between the signature's elements for people reading it. SignedInfo stays as signed: whitespace
    // inside it would change what the signature value covers; elsewhere in Signature it is covered by nothing.
    private static void Indent(XmlElement element, int depth)
    {
        if (element.LocalName == "SignedInfo")
        {
            return;
        }

        XmlElement[] children = [.. element.ChildNodes.OfType<XmlElement>()];
        if (children.Length == 0)
        {
            return;
        }

        XmlDocument owner = element.OwnerDocument;
        foreach (XmlElement child in children)
        {
            element.InsertBefore(owner.CreateWhitespace("\n" + new string(' ', 2 * (depth + 1))), child);
            Indent(child, depth + 1);
        }

        element.AppendChild(owner.CreateWhitespace("\n" + new string(' ', 2 * depth)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No CAP signing key configured ({Section}): generated a self-signed one, certificate {Path}; give it to consumers, and back up the key beside it")]
    private static partial void LogGenerated(ILogger logger, string path, string section);

    [LoggerMessage(Level = LogLevel.Information, Message = "CAP messages are signed with the certificate {Path}, SHA-256 fingerprint {Fingerprint} ({Subject}, valid until {NotAfter}); consumers pin this fingerprint")]
    private static partial void LogSigning(ILogger logger, string path, string fingerprint, string subject, string notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The CAP signing certificate {Path} expires at {NotAfter}; consumers will reject messages signed after that: configure a new one")]
    private static partial void LogExpiresSoon(ILogger logger, string path, string notAfter);
}
