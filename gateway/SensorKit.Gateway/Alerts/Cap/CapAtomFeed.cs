using System.Globalization;
using System.Text;
using System.Xml;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>Feed-level data of an Atom index of CAP messages (RFC 4287 §4.1.1).</summary>
public sealed record CapFeedMetadata
{
    /// <summary>Permanent, unique IRI of the feed, e.g. a "urn:uuid:" or the feed's canonical URL.</summary>
    public required Uri Id { get; init; }

    public required string Title { get; init; }

    /// <summary>Last time the feed changed in a way its publisher considers significant.</summary>
    public required DateTimeOffset Updated { get; init; }

    /// <summary>RFC 4287 requires a feed author unless every entry has one; ours never do.</summary>
    public required string AuthorName { get; init; }

    /// <summary>Where the feed itself is served; RFC 4287 says a feed SHOULD carry this rel="self" link.</summary>
    public Uri? SelfLink { get; init; }
}

/// <summary>One CAP message listed in the feed.</summary>
public sealed record CapFeedEntry
{
    /// <summary>Permanent, unique IRI of the entry (RFC 4287 §4.2.6).</summary>
    public required Uri Id { get; init; }

    /// <summary>The message's headline.</summary>
    public required string Title { get; init; }

    public required DateTimeOffset Updated { get; init; }

    /// <summary>Where the CAP document is served; written as link rel="alternate" type="application/cap+xml".</summary>
    public required Uri CapLink { get; init; }

    public string? Summary { get; init; }

    /// <summary>Language of title and summary, written as xml:lang on the entry.</summary>
    public string? Language { get; init; }

    /// <summary>
    /// The entry for <paramref name="alert"/> served at <paramref name="capLink"/>, which doubles as entry id (a
    /// CAP message never changes once sent, so its URL is permanent). Title and summary come from the info in
    /// <paramref name="language"/> if there is one, else from the first info.
    /// </summary>
    public static CapFeedEntry FromAlert(CapAlert alert, Uri capLink, string? language = null)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(capLink);

        var info = alert.Infos.Count > 0 ? alert.Infos[0] : null;
        foreach (var candidate in alert.Infos)
        {
            if (string.Equals(candidate.Language, language, StringComparison.OrdinalIgnoreCase))
            {
                info = candidate;
                break;
            }
        }

        return new CapFeedEntry
        {
            Id = capLink,
            Title = info is null ? $"{alert.MsgType} {alert.Identifier}" : string.IsNullOrWhiteSpace(info.Headline) ? info.Event : info.Headline,
            Updated = alert.Sent,
            CapLink = capLink,
            Summary = info?.Description,
            Language = info?.Language,
        };
    }
}

/// <summary>
/// Writes an Atom 1.0 feed (RFC 4287) indexing CAP messages: one entry per message linking to the CAP document.
/// Entries are written in the order given; newest first is what feed readers expect.
/// </summary>
public static class CapAtomFeed
{
    public const string Namespace = "http://www.w3.org/2005/Atom";

    public const string MediaType = "application/atom+xml";

    /// <summary>Writes the feed as UTF-8 to <paramref name="output"/> (left open).</summary>
    /// <exception cref="ArgumentException">A required feed or entry field is empty or a link is not absolute.</exception>
    public static void Write(CapFeedMetadata feed, IReadOnlyList<CapFeedEntry> entries, Stream output)
    {
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(output);
        EnsureValid(feed, entries);

        var settings = new XmlWriterSettings
        {
            Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
            Indent = true,
            IndentChars = "  ",
            NewLineChars = "\n",
            CloseOutput = false,
        };
        using (var xml = XmlWriter.Create(output, settings))
        {
            WriteFeed(xml, feed, entries);
        }

        output.WriteByte((byte)'\n');
    }

    /// <inheritdoc cref="Write(CapFeedMetadata, IReadOnlyList{CapFeedEntry}, Stream)"/>
    public static string ToXml(CapFeedMetadata feed, IReadOnlyList<CapFeedEntry> entries)
    {
        using var buffer = new MemoryStream();
        Write(feed, entries, buffer);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    // RFC 3339 date-time, the form RFC 4287 §3.3 requires; same shape as CAP's, so both read alike.
    private static string FormatDateTime(DateTimeOffset value) =>
        value.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    private static void EnsureValid(CapFeedMetadata feed, IReadOnlyList<CapFeedEntry> entries)
    {
        // RFC 4287 §4.1.1: exactly one id, title, updated and (absent entry authors) author per feed.
        CheckIri(feed.Id, "feed.Id");
        CheckText(feed.Title, "feed.Title");
        CheckText(feed.AuthorName, "feed.AuthorName");
        if (feed.SelfLink is not null)
        {
            CheckIri(feed.SelfLink, "feed.SelfLink");
        }

        for (var i = 0; i < entries.Count; i++)
        {
            // RFC 4287 §4.1.2: an entry without content MUST have a rel="alternate" link.
            var entry = entries[i] ?? throw new ArgumentException("Feed entry must not be null.", $"entries[{i}]");
            CheckIri(entry.Id, $"entries[{i}].Id");
            CheckText(entry.Title, $"entries[{i}].Title");
            CheckIri(entry.CapLink, $"entries[{i}].CapLink");
        }
    }

    private static void CheckText(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"Atom {field} must not be empty (RFC 4287 §4.1).", field);
        }
    }

    private static void CheckIri(Uri? value, string field)
    {
        if (value is null || !value.IsAbsoluteUri)
        {
            throw new ArgumentException($"Atom {field} must be an absolute IRI (RFC 4287 §4.2.6, §4.2.7).", field);
        }
    }

    private static void WriteFeed(XmlWriter xml, CapFeedMetadata feed, IReadOnlyList<CapFeedEntry> entries)
    {
        xml.WriteStartDocument();
        xml.WriteStartElement("feed", Namespace);
        xml.WriteElementString("id", Namespace, feed.Id.AbsoluteUri);
        xml.WriteElementString("title", Namespace, feed.Title);
        xml.WriteElementString("updated", Namespace, FormatDateTime(feed.Updated));
        xml.WriteStartElement("author", Namespace);
        xml.WriteElementString("name", Namespace, feed.AuthorName);
        xml.WriteEndElement();
        if (feed.SelfLink is not null)
        {
            WriteLink(xml, "self", CapAtomFeed.MediaType, feed.SelfLink);
        }

        foreach (var entry in entries)
        {
            xml.WriteStartElement("entry", Namespace);
            if (!string.IsNullOrEmpty(entry.Language))
            {
                xml.WriteAttributeString("xml", "lang", null, entry.Language);
            }

            xml.WriteElementString("id", Namespace, entry.Id.AbsoluteUri);
            xml.WriteElementString("title", Namespace, entry.Title);
            xml.WriteElementString("updated", Namespace, FormatDateTime(entry.Updated));
            WriteLink(xml, "alternate", CapWriter.MediaType, entry.CapLink);
            if (!string.IsNullOrEmpty(entry.Summary))
            {
                xml.WriteElementString("summary", Namespace, entry.Summary);
            }

            xml.WriteEndElement();
        }

        xml.WriteEndElement();
        xml.WriteEndDocument();
    }

    private static void WriteLink(XmlWriter xml, string rel, string type, Uri href)
    {
        xml.WriteStartElement("link", Namespace);
        xml.WriteAttributeString("rel", rel);
        xml.WriteAttributeString("type", type);
        xml.WriteAttributeString("href", href.AbsoluteUri);
        xml.WriteEndElement();
    }
}
