using System.Xml;
using System.Xml.Linq;
using SensorKit.Gateway.Alerts.Cap;
using Xunit;

namespace SensorKit.Tests.Alerts.Cap;

public class CapAtomFeedTests
{
    private static readonly XNamespace Atom = "http://www.w3.org/2005/Atom";

    private static readonly CapFeedMetadata Feed = new()
    {
        Id = new Uri("urn:uuid:6f1c1c1e-4d0a-4a55-9a3e-2f6a1c0e7b21"),
        Title = "SensorKit Warnungen Cochem (Mosel)",
        Updated = new DateTimeOffset(2025, 6, 15, 18, 30, 0, CapExamples.Cest),
        AuthorName = "SensorKit Hochwassermessnetz Cochem",
        SelfLink = new Uri("https://warnung.sensorkit.example/cap/feed.atom"),
    };

    private static CapAlert[] Alerts() =>
        [CapExamples.FloodAllClear(), CapExamples.FloodUpdate(), CapExamples.NodeOffline(), CapExamples.FloodAlert()];

    private static Uri CapUrl(CapAlert alert) => new($"https://warnung.sensorkit.example/cap/{alert.Identifier}.xml");

    [Fact]
    public void Feed_is_well_formed_atom_with_one_entry_per_message_linking_the_cap_document()
    {
        var alerts = Alerts();
        var entries = alerts.Select(a => CapFeedEntry.FromAlert(a, CapUrl(a), "de-DE")).ToList();

        var xml = CapAtomFeed.ToXml(Feed, entries);

        using (var reader = XmlReader.Create(new StringReader(xml), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit }))
        {
            while (reader.Read())
            {
            }
        }

        var root = XDocument.Parse(xml).Root!;
        Assert.Equal(Atom + "feed", root.Name);
        Assert.Equal(Feed.Id.AbsoluteUri, root.Element(Atom + "id")!.Value);
        Assert.Equal("2025-06-15T18:30:00+02:00", root.Element(Atom + "updated")!.Value);
        Assert.Equal("SensorKit Hochwassermessnetz Cochem", root.Element(Atom + "author")!.Element(Atom + "name")!.Value);
        var self = Assert.Single(root.Elements(Atom + "link"));
        Assert.Equal("self", self.Attribute("rel")!.Value);

        var written = root.Elements(Atom + "entry").ToList();
        Assert.Equal(alerts.Length, written.Count);
        for (var i = 0; i < alerts.Length; i++)
        {
            var entry = written[i];
            var link = Assert.Single(entry.Elements(Atom + "link"));
            Assert.Equal("alternate", link.Attribute("rel")!.Value);
            Assert.Equal("application/cap+xml", link.Attribute("type")!.Value);
            Assert.Equal(CapUrl(alerts[i]).AbsoluteUri, link.Attribute("href")!.Value);
            Assert.Equal(CapUrl(alerts[i]).AbsoluteUri, entry.Element(Atom + "id")!.Value);
            Assert.Equal(alerts[i].Infos[0].Headline, entry.Element(Atom + "title")!.Value);
            Assert.Equal(CapWriter.FormatDateTime(alerts[i].Sent), entry.Element(Atom + "updated")!.Value);
            Assert.Equal(alerts[i].Infos[0].Description, entry.Element(Atom + "summary")!.Value);
            Assert.Equal("de-DE", entry.Attribute(XNamespace.Xml + "lang")!.Value);
        }
    }

    [Fact]
    public void Entry_prefers_the_requested_language()
    {
        var alert = CapExamples.FloodAlert();

        var entry = CapFeedEntry.FromAlert(alert, CapUrl(alert), "en-US");

        Assert.Equal("Flooding on the Moselle in Cochem: water level above warning threshold", entry.Title);
        Assert.Equal("en-US", entry.Language);
    }

    [Fact]
    public void Entry_for_a_message_without_info_is_titled_by_type_and_identifier()
    {
        var ack = new CapAlert
        {
            Identifier = "SK-COCHEM-20250614-0005",
            Sender = CapExamples.Sender,
            Sent = new DateTimeOffset(2025, 6, 14, 4, 20, 0, CapExamples.Cest),
            Status = CapStatus.Actual,
            MsgType = CapMsgType.Ack,
            References = [CapReference.To(CapExamples.FloodAlert())],
        };

        var entry = CapFeedEntry.FromAlert(ack, CapUrl(ack));

        Assert.Equal("Ack SK-COCHEM-20250614-0005", entry.Title);
        Assert.Null(entry.Summary);
    }

    [Fact]
    public void Empty_feed_is_still_a_valid_feed_document()
    {
        var root = XDocument.Parse(CapAtomFeed.ToXml(Feed, [])).Root!;

        Assert.Equal(Atom + "feed", root.Name);
        Assert.Empty(root.Elements(Atom + "entry"));
    }

    [Fact]
    public void Relative_cap_link_throws()
    {
        var entry = new CapFeedEntry
        {
            Id = new Uri("urn:example:1"),
            Title = "x",
            Updated = DateTimeOffset.UnixEpoch,
            CapLink = new Uri("/cap/1.xml", UriKind.Relative),
        };

        Assert.Throws<ArgumentException>(() => CapAtomFeed.ToXml(Feed, [entry]));
    }
}
