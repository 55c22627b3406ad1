using System.Buffers;
using System.Text;
using System.Xml.Linq;
using SensorKit.Gateway.Alerts.Cap;
using Xunit;
using static SensorKit.Tests.Alerts.Cap.CapTestSupport;

namespace SensorKit.Tests.Alerts.Cap;

public class CapWriterTests
{
    public static TheoryData<string> MessageNames => [.. Messages.Keys];

    private static readonly Dictionary<string, Func<CapAlert>> Messages = new()
    {
        ["alert, polygon, de-DE + en-US"] = CapExamples.FloodAlert,
        ["update with references"] = CapExamples.FloodUpdate,
        ["all-clear"] = CapExamples.FloodAllClear,
        ["cancel"] = CapExamples.FloodCancel,
        ["operator, System, circle"] = CapExamples.NodeOffline,
        ["exercise"] = CapExamples.FloodExercise,
        ["minimal, UTC, no info"] = () => new CapAlert
        {
            Identifier = "SK-TEST-1",
            Sender = CapExamples.Sender,
            Sent = new DateTimeOffset(2025, 1, 20, 9, 0, 0, TimeSpan.Zero),
            Status = CapStatus.Test,
            MsgType = CapMsgType.Alert,
        },
        ["private scope, altitude"] = () => CapExamples.NodeOffline() with
        {
            Status = CapStatus.Draft,
            Scope = CapScope.Private,
            Restriction = null,
            Addresses = "leitstelle@kreis-cochem-zell.example betrieb@sensorkit.example",
            Infos = [CapExamples.NodeOffline().Infos[0] with
            {
                Area = CapExamples.NodeOffline().Infos[0].Area! with { Altitude = 269, Ceiling = 295.5 },
            }],
        },
    };

    [Theory]
    [MemberData(nameof(MessageNames))]
    public void Every_message_validates_against_the_official_schema(string name)
    {
        var xml = CapWriter.ToXml(Messages[name]());

        Assert.Empty(CapSchema.Validate(xml));
    }

    [Fact]
    public void Document_is_utf8_without_bom_in_the_cap_namespace()
    {
        var bytes = CapWriter.ToUtf8Bytes(CapExamples.FloodAlert());

        Assert.NotEqual(0xEF, bytes[0]);
        Assert.StartsWith("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Contains("Überflutungen der Uferstraße", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void Stream_buffer_and_string_outputs_are_identical()
    {
        var alert = CapExamples.FloodUpdate();
        var buffer = new ArrayBufferWriter<byte>();
        using var stream = new MemoryStream();

        CapWriter.Write(alert, buffer);
        CapWriter.Write(alert, stream);

        Assert.Equal(stream.ToArray(), buffer.WrittenSpan.ToArray());
        Assert.Equal(Encoding.UTF8.GetString(stream.ToArray()), CapWriter.ToXml(alert));
    }

    [Fact]
    public void Sent_in_utc_is_written_as_minus_zero_offset_never_z()
    {
        var alert = CapExamples.FloodAlert() with { Sent = new DateTimeOffset(2025, 6, 14, 2, 12, 0, 789, TimeSpan.Zero) };

        var sent = Element(alert, "sent");

        Assert.Equal("2025-06-14T02:12:00-00:00", sent);
        Assert.DoesNotContain("Z", sent, StringComparison.Ordinal);
    }

    [Fact]
    public void Sent_from_a_utc_datetime_is_written_as_minus_zero_offset()
    {
        var utc = new DateTime(2025, 12, 1, 23, 59, 59, DateTimeKind.Utc);
        var alert = CapExamples.FloodAlert() with { Sent = utc };

        Assert.Equal("2025-12-01T23:59:59-00:00", Element(alert, "sent"));
    }

    [Fact]
    public void Sent_in_cest_keeps_its_plus_two_offset()
    {
        var sent = Element(CapExamples.FloodAlert(), "sent");

        Assert.Equal("2025-06-14T04:12:00+02:00", sent);
        Assert.False(sent.EndsWith('Z'));
    }

    [Fact]
    public void No_datetime_in_any_message_uses_z_or_fractions()
    {
        foreach (var make in Messages.Values)
        {
            var doc = XDocument.Parse(CapWriter.ToXml(make()));
            var values = doc.Descendants()
                .Where(e => e.Name == CapNs + "sent" || e.Name == CapNs + "onset" || e.Name == CapNs + "expires")
                .Select(e => e.Value)
                .Concat(doc.Descendants(CapNs + "references").SelectMany(r => r.Value.Split(' ')).Select(r => r.Split(',')[2]));

            foreach (var value in values)
            {
                Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", value);
            }
        }
    }

    [Fact]
    public void References_are_space_separated_sender_identifier_sent_triples()
    {
        var references = Element(CapExamples.FloodAllClear(), "references");

        Assert.Equal(
            "gw-cochem.sensorkit.example,SK-COCHEM-20250614-0001,2025-06-14T04:12:00+02:00 "
                + "gw-cochem.sensorkit.example,SK-COCHEM-20250614-0002,2025-06-14T07:45:00+02:00",
            references);
    }

    [Fact]
    public void All_clear_is_an_update_with_response_type_all_clear()
    {
        var doc = XDocument.Parse(CapWriter.ToXml(CapExamples.FloodAllClear()));

        Assert.Equal("Update", doc.Root!.Element(CapNs + "msgType")!.Value);
        Assert.All(doc.Root.Elements(CapNs + "info"), info => Assert.Equal("AllClear", info.Element(CapNs + "responseType")!.Value));
    }

    [Fact]
    public void Identifier_with_a_space_throws_naming_the_field()
    {
        var alert = CapExamples.FloodAlert() with { Identifier = "SK COCHEM 1" };

        var error = Assert.Throws<ArgumentException>(() => CapWriter.ToXml(alert));

        Assert.Equal("alert.Identifier", error.ParamName);
        Assert.Contains("identifier", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SK,1")]
    [InlineData("SK<1")]
    [InlineData("SK&1")]
    [InlineData("SK\t1")]
    [InlineData("")]
    public void Identifier_with_a_restricted_character_throws(string identifier)
    {
        var alert = CapExamples.FloodAlert() with { Identifier = identifier };

        var error = Assert.Throws<ArgumentException>(() => CapWriter.ToXml(alert));

        Assert.Equal("alert.Identifier", error.ParamName);
    }

    [Fact]
    public void Sender_with_a_comma_throws_naming_the_field()
    {
        var alert = CapExamples.FloodAlert() with { Sender = "sensorkit,cochem" };

        var error = Assert.Throws<ArgumentException>(() => CapWriter.ToXml(alert));

        Assert.Equal("alert.Sender", error.ParamName);
        Assert.Contains("sender", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reference_with_a_bad_identifier_throws_naming_the_reference()
    {
        var alert = CapExamples.FloodUpdate() with
        {
            References = [new CapReference(CapExamples.Sender, "bad id", DateTimeOffset.UnixEpoch)],
        };

        var error = Assert.Throws<ArgumentException>(() => CapWriter.ToXml(alert));

        Assert.Equal("alert.References[0].Identifier", error.ParamName);
    }

    [Fact]
    public void Update_without_references_throws()
    {
        var alert = CapExamples.FloodUpdate() with { References = [] };

        Assert.Equal("alert.References", Assert.Throws<ArgumentException>(() => CapWriter.ToXml(alert)).ParamName);
    }

    [Fact]
    public void Restricted_scope_without_restriction_throws()
    {
        var alert = CapExamples.NodeOffline() with { Restriction = null };

        Assert.Equal("alert.Restriction", Assert.Throws<ArgumentException>(() => CapWriter.ToXml(alert)).ParamName);
    }

    [Fact]
    public void Open_polygon_throws()
    {
        var info = CapExamples.FloodAlert().Infos[0];
        var open = new[] { (50.1, 7.1), (50.2, 7.1), (50.2, 7.2), (50.1, 7.2) };
        var alert = CapExamples.FloodAlert() with { Infos = [info with { Area = info.Area! with { Polygons = [open] } }] };

        var error = Assert.Throws<ArgumentException>(() => CapWriter.ToXml(alert));

        Assert.Equal("alert.Infos[0].Area.Polygons[0]", error.ParamName);
    }

    [Fact]
    public void Invalid_alert_writes_nothing_to_the_stream()
    {
        using var stream = new MemoryStream();

        Assert.Throws<ArgumentException>(() => CapWriter.Write(CapExamples.FloodAlert() with { Sender = "a b" }, stream));

        Assert.Equal(0, stream.Length);
    }

    [Fact]
    public void Elements_are_omitted_when_optional_values_are_absent()
    {
        var doc = XDocument.Parse(CapWriter.ToXml(Messages["minimal, UTC, no info"]()));

        Assert.Equal(
            new[] { "identifier", "sender", "sent", "status", "msgType", "scope" },
            doc.Root!.Elements().Select(e => e.Name.LocalName));
    }

    [Fact]
    public void Circle_is_centre_pair_space_radius_in_km()
    {
        Assert.Equal("50.14702,7.16805 0.1", Element(CapExamples.NodeOffline(), "circle"));
    }

    private static string Element(CapAlert alert, string name) =>
        XDocument.Parse(CapWriter.ToXml(alert)).Descendants(CapNs + name).First().Value;
}
