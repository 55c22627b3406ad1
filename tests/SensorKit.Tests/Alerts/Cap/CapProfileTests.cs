using System.Globalization;
using System.Xml.Linq;
using SensorKit.Gateway.Alerts.Cap;
using static SensorKit.Tests.Alerts.Cap.CapTestSupport;

namespace SensorKit.Tests.Alerts.Cap;

/// <summary>
/// The Google Public Alerts profile (<see cref="CapProfile"/>) on the documentation's examples and the writer's
/// examples, and the check itself: each rule it enforces finds what breaks it. Every CAP message the gateway
/// publishes in the alerting, replay and end-to-end tests passes through the same check (AlertingHarness).
/// </summary>
public sealed class CapProfileTests
{
    [Fact]
    public void Every_example_in_the_docs_passes_the_profile_as_one_stream()
    {
        string[] files = Directory.GetFiles(Path.Combine(RepoRoot(), "docs", "examples"), "*.xml");
        Assert.NotEmpty(files);
        var stream = new CapProfile.Stream();
        foreach (string file in files.OrderBy(f => Sent(File.ReadAllText(f))))
        {
            string xml = File.ReadAllText(file);
            Assert.Empty(CapSchema.Validate(xml));
            List<string> findings = stream.Add(xml);
            Assert.True(findings.Count == 0, $"{Path.GetFileName(file)}: {string.Join("; ", findings)}");
        }
    }

    [Fact]
    public void Every_writer_example_passes_the_profile()
    {
        foreach (Func<CapAlert> example in new Func<CapAlert>[] { CapExamples.FloodAlert, CapExamples.FloodUpdate, CapExamples.FloodAllClear, CapExamples.NodeOffline, CapExamples.FloodCancel, CapExamples.FloodExercise })
        {
            CapAlert alert = example();
            List<string> findings = CapProfile.Check(CapWriter.ToXml(alert));
            Assert.True(findings.Count == 0, $"{alert.Identifier}: {string.Join("; ", findings)}");
        }
    }

    [Theory]
    [InlineData("expires-required", "expires")]
    [InlineData("web-required", "web")]
    [InlineData("contact", "contact")]
    [InlineData("instruction", "instruction")]
    [InlineData("description-required", "description")]
    [InlineData("sender-name", "senderName")]
    [InlineData("response-type", "responseType")]
    [InlineData("area-required", "area")]
    public void A_missing_element_is_found(string code, string element)
    {
        XDocument doc = Example();
        doc.Root!.Element(CapNs + "info")!.Elements(CapNs + element).Remove();

        Assert.Contains(CapProfile.Check(doc.ToString()), f => f.StartsWith(code + ":", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("expires-after-sent", "expires", "2025-06-14T05:03:00+02:00")]
    [InlineData("web-absolute", "web", "/cap/SK-1.xml")]
    [InlineData("date-time", "expires", "2026-07-01T10:58:00Z")]
    [InlineData("headline-too-long", "headline", null)]
    [InlineData("unknown-severity", "severity", "Unknown")]
    [InlineData("circle-polygon-or-geocode-required", "area", null)]
    [InlineData("nonzero-circle-radius", "area", "0")]
    [InlineData("html", "description", "Bitte <b>sofort</b> handeln")]
    [InlineData("same-text-different-language", "instruction", "copy")]
    public void A_wrong_value_is_found(string code, string element, string? value)
    {
        XDocument doc = Example();
        XElement info = doc.Root!.Element(CapNs + "info")!;
        XElement target = info.Element(CapNs + element)!;
        switch (code)
        {
            case "headline-too-long":
                target.Value = new string('x', 141);
                break;
            case "circle-polygon-or-geocode-required":
                target.Elements().Where(e => e.Name != CapNs + "areaDesc").Remove();
                break;
            case "nonzero-circle-radius":
                XElement geometry = target.Element(CapNs + "circle") ?? throw new InvalidOperationException("the example has a polygon; this needs a circle");
                geometry.Value = geometry.Value.Split(' ')[0] + " 0";
                break;
            case "same-text-different-language":
                target.Value = doc.Root.Elements(CapNs + "info").Last().Element(CapNs + element)!.Value;
                break;
            default:
                target.Value = value!;
                break;
        }

        Assert.Contains(CapProfile.Check(doc.ToString()), f => f.StartsWith(code + ":", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Update", "", "update-or-cancel-must-reference")]
    [InlineData("Cancel", "", "update-or-cancel-must-reference")]
    [InlineData("Alert", "{sender},SK-0,2025-06-14T01:00:00+02:00", "alert-with-references")]
    [InlineData("Update", "{sender},SK-0", "references-format")]
    [InlineData("Update", "{sender} SK-0 2025-06-14T01:00:00+02:00", "references-format")]
    [InlineData("Update", "{sender},SK-0,2025-06-14 01:00", "references-format")]
    [InlineData("Update", "{sender},SK-0,2025-06-14T23:00:00+02:00", "postdated-reference")]
    [InlineData("Update", "{sender},{self},2025-06-14T01:00:00+02:00", "circular-reference")]
    public void Message_type_and_references_must_agree_and_references_are_sender_identifier_sent_triples(string msgType, string references, string code)
    {
        XDocument doc = Example();
        XElement root = doc.Root!;
        root.Element(CapNs + "msgType")!.Value = msgType;
        root.Elements(CapNs + "references").Remove();
        if (references.Length > 0)
        {
            string self = root.Element(CapNs + "identifier")!.Value;
            root.Element(CapNs + "scope")!.AddAfterSelf(new XElement(CapNs + "references", references
                .Replace("{self}", self, StringComparison.Ordinal)
                .Replace("{sender}", CapExamples.Sender, StringComparison.Ordinal)));
        }

        Assert.Contains(CapProfile.Check(doc.ToString()), f => f.StartsWith(code + ":", StringComparison.Ordinal));
    }

    [Fact]
    public void A_stream_finds_reused_identifiers_wrong_references_missing_references_and_lapses()
    {
        XDocument first = GatewayMessage();
        string id = first.Root!.Element(CapNs + "identifier")!.Value;
        string sent = first.Root.Element(CapNs + "sent")!.Value;
        var stream = new CapProfile.Stream();
        Assert.Empty(stream.Add(first.ToString()));

        // The same message again (a resend after a restart) is fine; other content under its identifier is not.
        Assert.Empty(stream.Add(first.ToString()));
        XDocument changed = new(first);
        changed.Root!.Element(CapNs + "info")!.Element(CapNs + "headline")!.Value = "Something else";
        Assert.Contains(stream.Add(changed.ToString()), f => f.StartsWith("identifier-unique:", StringComparison.Ordinal));

        // An update 7 hours later: the first message expired after 6, so the alert lapsed; and it names the first one wrongly.
        XDocument late = FollowUp(first, "SK-late", TimeSpan.FromHours(7), $"gateway.sensorkit.example,{id},2026-07-01T00:00:00+02:00");
        List<string> findings = stream.Add(late.ToString());
        Assert.Contains(findings, f => f.StartsWith("lapsed:", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.StartsWith("reference-matches:", StringComparison.Ordinal));

        // An update in time that leaves out a message still valid.
        var second = new CapProfile.Stream();
        Assert.Empty(second.Add(first.ToString()));
        XDocument update = FollowUp(first, "SK-2", TimeSpan.FromHours(1), $"gateway.sensorkit.example,{id},{sent}");
        Assert.Empty(second.Add(update.ToString()));
        XDocument forgetful = FollowUp(first, "SK-3", TimeSpan.FromHours(2), $"gateway.sensorkit.example,{id},{sent}");
        Assert.Contains(second.Add(forgetful.ToString()), f => f.StartsWith("references-all-unexpired:", StringComparison.Ordinal) && f.Contains("SK-2", StringComparison.Ordinal));
        Assert.Empty(second.LapsedAt(Sent(update.ToString()) + TimeSpan.FromHours(1)));
        Assert.NotEmpty(second.LapsedAt(Sent(forgetful.ToString()) + TimeSpan.FromHours(7)));
    }

    /// <summary>A message of the gateway, as checked in: docs/examples/gateway-storm-alert.xml (a polygon area).</summary>
    private static XDocument GatewayMessage() => XDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "docs", "examples", "gateway-storm-alert.xml")));

    /// <summary>A message with a circle: the writer's node-offline example.</summary>
    private static XDocument Example() => XDocument.Parse(CapWriter.ToXml(CapExamples.NodeOffline()));

    private static XDocument FollowUp(XDocument first, string identifier, TimeSpan later, string references)
    {
        XDocument next = new(first);
        XElement root = next.Root!;
        DateTimeOffset sent = Sent(first.ToString()) + later;
        root.Element(CapNs + "identifier")!.Value = identifier;
        root.Element(CapNs + "sent")!.Value = CapWriter.FormatDateTime(sent);
        root.Element(CapNs + "msgType")!.Value = "Update";
        root.Element(CapNs + "scope")!.AddAfterSelf(new XElement(CapNs + "references", references));
        foreach (XElement info in root.Elements(CapNs + "info"))
        {
            info.Element(CapNs + "expires")!.Value = CapWriter.FormatDateTime(sent + TimeSpan.FromHours(6));
        }

        return next;
    }

    private static DateTimeOffset Sent(string xml) => DateTimeOffset.ParseExact(
        XDocument.Parse(xml).Root!.Element(CapNs + "sent")!.Value, "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
}
