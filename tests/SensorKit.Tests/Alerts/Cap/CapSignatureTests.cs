using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Text;
using System.Xml;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Tests.Support;
using static SensorKit.Tests.Alerts.Cap.CapTestSupport;

namespace SensorKit.Tests.Alerts.Cap;

/// <summary>
/// The enveloped XML signature of every CAP message (CAP 1.2 §3.3.2.1), checked by .NET's SignedXml and
/// independently by xmlsec1, against the example certificate a consumer would have pinned.
/// </summary>
public sealed class CapSignatureTests : IDisposable
{
    private readonly CapSigner _signer = ExampleSigningKey.Signer();
    private readonly X509Certificate2 _trusted = ExampleSigningKey.Certificate();

    public static TheoryData<string> CheckedInExamples =>
        [.. Directory.GetFiles(Path.Combine(RepoRoot(), "docs", "examples"), "*.xml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    public void Dispose()
    {
        _signer.Dispose();
        _trusted.Dispose();
    }

    [Fact]
    public void The_signature_verifies_with_signed_xml_and_only_adds_itself_to_the_writers_bytes()
    {
        byte[] unsigned = CapWriter.ToUtf8Bytes(CapExamples.FloodAlert());

        byte[] signed = _signer.Sign(unsigned);

        // The document up to </alert> is untouched; the signature sits on its own lines as the alert's last child.
        int end = unsigned.Length - "</alert>\n".Length;
        Assert.Equal(unsigned[..end], signed[..end]);
        Assert.Equal(unsigned[end..], signed[^(unsigned.Length - end)..]);
        string inserted = Encoding.UTF8.GetString(signed[end..^(unsigned.Length - end)]);
        Assert.StartsWith("  <Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\n", inserted, StringComparison.Ordinal);
        Assert.EndsWith("\n  </Signature>\n", inserted, StringComparison.Ordinal);

        // .NET's own check, by hand: the key is the pinned certificate's, not the one the message carries.
        var xml = new XmlDocument { PreserveWhitespace = true, XmlResolver = null };
        xml.LoadXml(Encoding.UTF8.GetString(signed));
        var signedXml = new SignedXml(xml);
        signedXml.LoadXml((XmlElement)xml.GetElementsByTagName("Signature", SignedXml.XmlDsigNamespaceUrl)[0]!);
        Assert.True(signedXml.CheckSignature(_trusted, verifySignatureOnly: true));
        Assert.Equal(SignedXml.XmlDsigRSASHA256Url, signedXml.SignatureMethod);
        Assert.Equal(SignedXml.XmlDsigExcC14NTransformUrl, signedXml.SignedInfo!.CanonicalizationMethod);
        var reference = (Reference)Assert.Single(signedXml.SignedInfo.References)!;
        Assert.Equal(string.Empty, reference.Uri);
        Assert.Equal(SignedXml.XmlDsigEnvelopedSignatureTransformUrl, reference.TransformChain[0].Algorithm);
        var certificate = Assert.Single(signedXml.KeyInfo.OfType<KeyInfoX509Data>().Single().Certificates!.Cast<X509Certificate2>());
        Assert.Equal(_trusted.RawData, certificate.RawData);

        Assert.True(CapSignature.Verify(signed, _trusted, out string failure), failure);
    }

    [Fact]
    public void Signing_the_same_message_twice_gives_the_same_bytes()
    {
        byte[] unsigned = CapWriter.ToUtf8Bytes(CapExamples.FloodUpdate());

        Assert.Equal(_signer.Sign(unsigned), _signer.Sign(unsigned));
    }

    [Theory]
    [MemberData(nameof(CheckedInExamples))]
    public async Task Checked_in_example_is_signed_with_the_example_certificate(string fileName)
    {
        byte[] document = await File.ReadAllBytesAsync(Path.Combine(RepoRoot(), "docs", "examples", fileName), TestContext.Current.CancellationToken);

        Assert.Empty(CapSchema.Validate(Encoding.UTF8.GetString(document)));
        Assert.True(CapSignature.Verify(document, _trusted, out string failure), failure);
        (int exit, string output) = await Xmlsec1.VerifyAsync(document, ExampleSigningKey.CertificateFile);
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task One_changed_character_in_the_alert_text_breaks_the_signature_for_dotnet_and_xmlsec1()
    {
        byte[] signed = _signer.Sign(CapWriter.ToUtf8Bytes(CapExamples.FloodAlert()));

        // "6.85 m" becomes "6.86 m" in the English description: one byte, and the message is still valid CAP.
        byte[] tampered = ChangeOneCharacter(signed, "stands at 6.85 m", '6');

        Assert.Empty(CapSchema.Validate(Encoding.UTF8.GetString(tampered)));
        Assert.True(CapSignature.Verify(signed, _trusted, out string failure), failure);
        Assert.False(CapSignature.Verify(tampered, _trusted, out failure));
        Assert.Contains("changed after signing", failure, StringComparison.Ordinal);
        (int exit, string output) = await Xmlsec1.VerifyAsync(signed, ExampleSigningKey.CertificateFile);
        Assert.True(exit == 0, output);
        (exit, output) = await Xmlsec1.VerifyAsync(tampered, ExampleSigningKey.CertificateFile);
        Assert.True(exit != 0, output);
        Assert.Contains("FAIL", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forgery_signed_with_another_certificate_is_rejected_by_both()
    {
        // The forger changes the text and signs it properly, with a key and certificate of their own.
        using CapSigner forger = NewSigner("CN=gw-cochem.sensorkit.example");
        byte[] unsigned = CapWriter.ToUtf8Bytes(CapExamples.FloodAlert());
        byte[] forged = forger.Sign(ChangeOneCharacter(unsigned, "stands at 6.85 m", '9'));
        Assert.True(CapSignature.Verify(forged, forger.Certificate, out string own), own);

        Assert.False(CapSignature.Verify(forged, _trusted, out string failure));
        Assert.Contains("signed with another certificate", failure, StringComparison.Ordinal);
        (int exit, string output) = await Xmlsec1.VerifyAsync(forged, ExampleSigningKey.CertificateFile);
        Assert.True(exit != 0, output);
    }

    [Fact]
    public async Task A_forgery_that_carries_a_bare_key_is_rejected_by_both()
    {
        // KeyInfo/KeyValue instead of a certificate: xmlsec1 would use such a key unless told to accept X.509 data only.
        using RSA forgerKey = RSA.Create(2048);
        var xml = new XmlDocument { PreserveWhitespace = true, XmlResolver = null };
        xml.LoadXml(CapWriter.ToXml(CapExamples.FloodAlert()).Replace("stands at 6.85 m", "stands at 9.85 m", StringComparison.Ordinal));
        var signedXml = new SignedXml(xml) { SigningKey = forgerKey };
        signedXml.SignedInfo!.CanonicalizationMethod = SignedXml.XmlDsigExcC14NTransformUrl;
        signedXml.SignedInfo.SignatureMethod = SignedXml.XmlDsigRSASHA256Url;
        var reference = new Reference(string.Empty) { DigestMethod = SignedXml.XmlDsigSHA256Url };
        reference.AddTransform(new XmlDsigEnvelopedSignatureTransform());
        reference.AddTransform(new XmlDsigExcC14NTransform());
        signedXml.AddReference(reference);
        signedXml.KeyInfo = new KeyInfo();
        signedXml.KeyInfo.AddClause(new RSAKeyValue(forgerKey));
        signedXml.ComputeSignature();
        xml.DocumentElement!.AppendChild(xml.ImportNode(signedXml.GetXml(), deep: true));
        byte[] forged = Encoding.UTF8.GetBytes(xml.OuterXml);

        Assert.False(CapSignature.Verify(forged, _trusted, out string failure));
        Assert.Contains("none in KeyInfo", failure, StringComparison.Ordinal);
        (int exit, string output) = await Xmlsec1.VerifyAsync(forged, ExampleSigningKey.CertificateFile);
        Assert.True(exit != 0, output);
    }

    [Fact]
    public void A_message_without_or_with_two_signatures_is_rejected()
    {
        byte[] unsigned = CapWriter.ToUtf8Bytes(CapExamples.FloodAllClear());
        string signed = Encoding.UTF8.GetString(_signer.Sign(unsigned));
        int start = signed.IndexOf("  <Signature", StringComparison.Ordinal);
        string twice = signed.Insert(start, signed[start..signed.IndexOf("</alert>", StringComparison.Ordinal)]);

        Assert.False(CapSignature.Verify(unsigned, _trusted, out string none));
        Assert.Contains("found 0", none, StringComparison.Ordinal);
        Assert.False(CapSignature.Verify(Encoding.UTF8.GetBytes(twice), _trusted, out string two));
        Assert.Contains("found 2", two, StringComparison.Ordinal);
    }

    [Fact]
    public void Signing_refuses_what_the_writer_did_not_write_and_what_is_signed_already()
    {
        byte[] signed = _signer.Sign(CapWriter.ToUtf8Bytes(CapExamples.NodeOffline()));

        Assert.Throws<ArgumentException>(() => _signer.Sign(signed));
        Assert.Throws<ArgumentException>(() => _signer.Sign("<?xml version=\"1.0\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</identifier></alert>"u8.ToArray()));
        Assert.Throws<ArgumentException>(() => _signer.Sign("<feed>\n</feed>\n"u8.ToArray()));
    }

    private static byte[] ChangeOneCharacter(byte[] document, string text, char replacement)
    {
        string xml = Encoding.UTF8.GetString(document);
        int found = xml.IndexOf(text, StringComparison.Ordinal);
        Assert.True(found >= 0, $"'{text}' is not in the document");
        int at = found + text.Length - 3;
        Assert.NotEqual(replacement, xml[at]);
        byte[] changed = Encoding.UTF8.GetBytes(string.Concat(xml.AsSpan(0, at), replacement.ToString(), xml.AsSpan(at + 1)));
        Assert.Equal(document.Length, changed.Length);
        Assert.Single(Enumerable.Range(0, document.Length), i => document[i] != changed[i]);
        return changed;
    }

    private static CapSigner NewSigner(string subject)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return new CapSigner(request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1)));
    }
}
