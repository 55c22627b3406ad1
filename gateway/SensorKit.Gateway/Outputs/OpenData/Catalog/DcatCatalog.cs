using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Outputs.OpenData.SensorThings;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Fleet;

namespace SensorKit.Gateway.Outputs.OpenData.Catalog;

/// <summary>
/// The DCAT-AP catalogue as JSON-LD at /open-data/catalog.jsonld: one dataset per site, each with the daily CSV
/// archive and the SensorThings API as distributions, the licence and the publisher, and the site's rounded extent.
/// </summary>
public sealed class DcatCatalog(IOptions<OpenDataOptions> options, ITelemetryHistory history, IFleet nodes, OpenDataLinks links)
{
    private readonly OpenDataOptions _o = options.Value;

    public async Task WriteAsync(HttpContext context)
    {
        context.Response.ContentType = "application/ld+json";
        context.Response.Headers.AccessControlAllowOrigin = "*";
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            Write(w, links.Base());
        }

        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }

    public void Write(Utf8JsonWriter w, Uri baseAddress)
    {
        Uri root = new(baseAddress, StaSchema.PathPrefix + "/");
        Uri archive = new(baseAddress, "open-data/archive/");
        Uri license = OpenDataOptions.Licenses[_o.License].Url;
        w.WriteStartObject();
        w.WriteStartObject("@context");
        w.WriteString("dcat", "http://www.w3.org/ns/dcat#");
        w.WriteString("dct", "http://purl.org/dc/terms/");
        w.WriteString("foaf", "http://xmlns.com/foaf/0.1/");
        w.WriteString("locn", "http://www.w3.org/ns/locn#");
        w.WriteEndObject();
        w.WriteString("@id", new Uri(baseAddress, "open-data/catalog.jsonld").ToString());
        w.WriteString("@type", "dcat:Catalog");
        w.WriteString("dct:title", _o.Title);
        w.WriteString("dct:description", _o.Description);
        Publisher(w);
        Id(w, "dct:license", license.ToString());
        w.WriteStartObject("dcat:service");
        w.WriteString("@id", root.ToString());
        w.WriteString("@type", "dcat:DataService");
        w.WriteString("dct:title", "OGC SensorThings API 1.1");
        Id(w, "dcat:endpointURL", root.ToString());
        Id(w, "dct:conformsTo", "http://www.opengis.net/doc/is/sensorthings/1.1");
        Id(w, "dct:license", license.ToString());
        w.WriteEndObject();
        w.WriteStartArray("dcat:dataset");
        foreach (IGrouping<string, HistoryChannel> site in history.Channels().GroupBy(c => c.Site).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("@id", new Uri(archive, $"{site.Key}/datapackage.json").ToString());
            w.WriteString("@type", "dcat:Dataset");
            w.WriteString("dct:identifier", $"sensorkit-{site.Key}");
            w.WriteString("dct:title", $"{_o.Title}: site {site.Key}");
            w.WriteString("dct:description", _o.Description);
            Publisher(w);
            Id(w, "dct:license", license.ToString());
            Id(w, "dct:accrualPeriodicity", "http://publications.europa.eu/resource/authority/frequency/DAILY");
            w.WriteStartArray("dcat:keyword");
            foreach (string q in site.Select(c => c.Quantity).Distinct().Order(StringComparer.Ordinal))
            {
                w.WriteStringValue(q);
            }

            w.WriteEndArray();
            if (Coverage(site) is { } time)
            {
                // The raw windows the API serves as Observations: from the oldest kept to the newest.
                w.WriteStartObject("dct:temporal");
                w.WriteString("@type", "dct:PeriodOfTime");
                Typed(w, "dcat:startDate", StaWriter.Time(time.Start));
                Typed(w, "dcat:endDate", StaWriter.Time(time.End));
                w.WriteEndObject();
            }

            if (Extent(site.Key) is { } bbox)
            {
                w.WriteStartObject("dct:spatial");
                w.WriteString("@type", "dct:Location");
                w.WriteString("dcat:bbox", bbox);
                w.WriteEndObject();
            }

            w.WriteStartArray("dcat:distribution");
            Distribution(w, new Uri(archive, "index.json").ToString(), "Daily CSV files with a Frictionless data package", "http://publications.europa.eu/resource/authority/file-type/CSV", "text/csv", license);
            Distribution(w, root.ToString(), "OGC SensorThings API", "http://publications.europa.eu/resource/authority/file-type/JSON", "application/json", license);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private Filter.TimeInterval? Coverage(IEnumerable<HistoryChannel> channels)
    {
        Filter.TimeInterval? all = null;
        foreach (HistoryChannel c in channels)
        {
            if (StaService.Extent(history, c) is { } t)
            {
                all = all is { } a ? new Filter.TimeInterval(t.Start < a.Start ? t.Start : a.Start, t.End > a.End ? t.End : a.End) : t;
            }
        }

        return all;
    }

    private static void Typed(Utf8JsonWriter w, string name, string dateTime)
    {
        w.WriteStartObject(name);
        w.WriteString("@type", "http://www.w3.org/2001/XMLSchema#dateTime");
        w.WriteString("@value", dateTime);
        w.WriteEndObject();
    }

    private string? Extent(string site)
    {
        var places = nodes.All.Where(n => n.Key.Site == site)
            .Select(n => _o.PublishedPosition(n.Key.Site, n.Key.Node, n.Value.Location))
            .OfType<(double Latitude, double Longitude)>().ToList();
        if (places.Count == 0)
        {
            return null;
        }

        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        (double w, double e, double s, double n) = (places.Min(p => p.Longitude), places.Max(p => p.Longitude), places.Min(p => p.Latitude), places.Max(p => p.Latitude));
        return $"POLYGON(({F(w)} {F(s)},{F(e)} {F(s)},{F(e)} {F(n)},{F(w)} {F(n)},{F(w)} {F(s)}))";
    }

    private void Publisher(Utf8JsonWriter w)
    {
        w.WriteStartObject("dct:publisher");
        w.WriteString("@type", "foaf:Agent");
        w.WriteString("foaf:name", _o.Publisher);
        w.WriteEndObject();
    }

    private static void Distribution(Utf8JsonWriter w, string access, string title, string format, string mediaType, Uri license)
    {
        w.WriteStartObject();
        w.WriteString("@type", "dcat:Distribution");
        w.WriteString("dct:title", title);
        Id(w, "dcat:accessURL", access);
        Id(w, "dct:format", format);
        w.WriteString("dcat:mediaType", mediaType);
        Id(w, "dct:license", license.ToString());
        w.WriteEndObject();
    }

    private static void Id(Utf8JsonWriter w, string name, string id)
    {
        w.WriteStartObject(name);
        w.WriteString("@id", id);
        w.WriteEndObject();
    }
}
