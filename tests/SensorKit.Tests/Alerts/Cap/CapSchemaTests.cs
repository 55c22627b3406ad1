using System.Text;
using System.Xml.Linq;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Tests.Support;
using Xunit;
using static SensorKit.Tests.Alerts.Cap.CapTestSupport;

namespace SensorKit.Tests.Alerts.Cap;

// A green validation only means something if the validator turns red on broken documents.
public class CapSchemaTests
{
    private static readonly XNamespace DsigNs = "http://www.w3.org/2000/09/xmldsig#";

    [Fact]
    public void Official_reference_example_is_valid()
    {
        // The OASIS CAP 1.2 Amber Alert example, trimmed to one info.
        const string xml = """
            <?xml version = "1.0" encoding = "UTF-8"?>
            <alert xmlns = "urn:oasis:names:tc:emergency:cap:1.2">
              <identifier>KAR0-0306112239-SW</identifier>
              <sender>KARO@CLETS.DOJ.CA.GOV</sender>
              <sent>2003-06-11T22:39:00-07:00</sent>
              <status>Actual</status>
              <msgType>Alert</msgType>
              <source>SW</source>
              <scope>Public</scope>
              <info>
                <language>en-US</language>
                <category>Rescue</category>
                <event>Child Abduction</event>
                <urgency>Immediate</urgency>
                <severity>Severe</severity>
                <certainty>Likely</certainty>
                <eventCode><valueName>SAME</valueName><value>CAE</value></eventCode>
                <senderName>Los Angeles Police Dept - LAPD</senderName>
                <headline>Amber Alert in Los Angeles County</headline>
                <area><areaDesc>Los Angeles County</areaDesc><geocode><valueName>SAME</valueName><value>006037</value></geocode></area>
              </info>
            </alert>
            """;

        Assert.Empty(CapSchema.Validate(xml));
    }

    [Fact]
    public void Missing_status_is_rejected()
    {
        var doc = Valid();
        doc.Root!.Element(CapNs + "status")!.Remove();

        var errors = CapSchema.Validate(doc.ToString());

        Assert.Contains(errors, e => e.Contains("status", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("2025-06-14T02:12:00Z")]
    [InlineData("2025-06-14T04:12:00.5+02:00")]
    [InlineData("2025-06-14T04:12+02:00")]
    [InlineData("2025-06-14T04:12:00")]
    public void Sent_not_in_cap_form_is_rejected(string sent)
    {
        var doc = Valid();
        doc.Root!.Element(CapNs + "sent")!.Value = sent;

        var errors = CapSchema.Validate(doc.ToString());

        Assert.Contains(errors, e => e.Contains("sent", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_code_value_is_rejected()
    {
        var doc = Valid();
        doc.Descendants(CapNs + "urgency").First().Value = "Soon";

        Assert.NotEmpty(CapSchema.Validate(doc.ToString()));
    }

    [Fact]
    public void Elements_out_of_order_are_rejected()
    {
        var doc = Valid();
        var sender = doc.Root!.Element(CapNs + "sender")!;
        sender.Remove();
        doc.Root.Element(CapNs + "sent")!.AddAfterSelf(sender);

        Assert.NotEmpty(CapSchema.Validate(doc.ToString()));
    }

    [Fact]
    public void Root_outside_the_cap_namespace_is_rejected()
    {
        // Without warnings counted, this would pass: the validator has no schema for it and checks nothing.
        var xml = Valid().ToString().Replace(CapWriter.Namespace, "urn:oasis:names:tc:emergency:cap:1.1", StringComparison.Ordinal);

        Assert.NotEmpty(CapSchema.Validate(xml));
    }

    [Fact]
    public void Not_well_formed_document_is_rejected_with_its_position()
    {
        var errors = CapSchema.Validate("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n  <identifier>x</sender>\n</alert>");

        var error = Assert.Single(errors);
        Assert.StartsWith("line 2, position ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_carry_line_and_position()
    {
        var xml = CapWriter.ToXml(CapExamples.FloodAlert()).Replace("<status>Actual</status>", "<status>Real</status>", StringComparison.Ordinal);

        var error = Assert.Single(CapSchema.Validate(xml));

        Assert.StartsWith("line 6, position ", error, StringComparison.Ordinal);
        Assert.Contains("status", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Stream_input_is_validated_like_a_string()
    {
        using var valid = new MemoryStream(CapWriter.ToUtf8Bytes(CapExamples.FloodUpdate()));
        using var broken = new MemoryStream(Encoding.UTF8.GetBytes(CapWriter.ToXml(CapExamples.FloodUpdate()).Replace("<msgType>Update</msgType>", string.Empty, StringComparison.Ordinal)));

        Assert.Empty(CapSchema.Validate(valid));
        Assert.NotEmpty(CapSchema.Validate(broken));
    }

    [Fact]
    public void Concurrent_validation_gives_the_same_answers()
    {
        var good = CapWriter.ToXml(CapExamples.FloodAllClear());
        var bad = good.Replace("<scope>Public</scope>", "<scope>Everyone</scope>", StringComparison.Ordinal);

        var results = Enumerable.Range(0, 64).AsParallel().Select(i => CapSchema.Validate(i % 2 == 0 ? good : bad).Count).ToList();

        Assert.All(results.Where((_, i) => i % 2 == 0), count => Assert.Equal(0, count));
        Assert.All(results.Where((_, i) => i % 2 == 1), count => Assert.Equal(1, count));
    }

    [Fact]
    public void A_signed_document_is_valid()
    {
        using var signer = ExampleSigningKey.Signer();

        Assert.Empty(CapSchema.Validate(Encoding.UTF8.GetString(signer.Sign(CapWriter.ToUtf8Bytes(CapExamples.FloodAlert())))));
    }

    [Fact]
    public void A_signature_anywhere_but_after_the_last_info_is_rejected()
    {
        // The schema's lax wildcard for XML-DSig is the alert's last particle: the signature's warnings are forgiven
        // only there.
        using var signer = ExampleSigningKey.Signer();
        var doc = XDocument.Parse(Encoding.UTF8.GetString(signer.Sign(CapWriter.ToUtf8Bytes(CapExamples.FloodAlert()))));
        var signature = doc.Root!.Element(DsigNs + "Signature")!;
        signature.Remove();

        var beforeInfo = new XDocument(doc);
        beforeInfo.Root!.Element(CapNs + "info")!.AddBeforeSelf(signature);
        var insideInfo = new XDocument(doc);
        insideInfo.Root!.Element(CapNs + "info")!.Add(signature);
        var asRoot = new XDocument(signature);

        Assert.NotEmpty(CapSchema.Validate(beforeInfo.ToString()));
        Assert.NotEmpty(CapSchema.Validate(insideInfo.ToString()));
        Assert.NotEmpty(CapSchema.Validate(asRoot.ToString()));
    }

    private static XDocument Valid()
    {
        var doc = XDocument.Parse(CapWriter.ToXml(CapExamples.FloodAlert()));
        Assert.Empty(CapSchema.Validate(doc.ToString()));
        return doc;
    }
}
