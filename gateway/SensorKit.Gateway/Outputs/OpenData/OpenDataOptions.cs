using Microsoft.Extensions.Options;

namespace SensorKit.Gateway.Outputs.OpenData;

/// <summary>Configuration section "OpenData": the SensorThings API, the daily CSV archive and the catalogue (docs/open-data.md).</summary>
public sealed class OpenDataOptions
{
    public const string Section = "OpenData";

    /// <summary>The licences offered, by SPDX id, with their canonical URLs.</summary>
    public static readonly IReadOnlyDictionary<string, (string Name, Uri Url)> Licenses = new Dictionary<string, (string, Uri)>(StringComparer.Ordinal)
    {
        ["CC-BY-4.0"] = ("Creative Commons Attribution 4.0 International", new Uri("https://creativecommons.org/licenses/by/4.0/")),
        ["DL-DE-BY-2.0"] = ("Datenlizenz Deutschland – Namensnennung – Version 2.0", new Uri("https://www.govdata.de/dl-de/by-2-0")),
        ["ODbL-1.0"] = ("Open Data Commons Open Database License 1.0", new Uri("https://opendatacommons.org/licenses/odbl/1-0/")),
    };

    public bool Enabled { get; set; } = true;

    /// <summary>Entities per page when a request has no $top.</summary>
    public int DefaultTop { get; set; } = 100;

    /// <summary>The largest $top taken; a larger one is a 400.</summary>
    public int MaxTop { get; set; } = 1000;

    public int MaxSkip { get; set; } = 1_000_000;

    public int MaxExpandDepth { get; set; } = 3;

    public int MaxFilterLength { get; set; } = 2000;

    public int MaxFilterDepth { get; set; } = 32;

    /// <summary>Longest query string, in characters.</summary>
    public int MaxQueryLength { get; set; } = 8192;

    /// <summary>Entities in one response, expansions included; expanded collections past it are cut and get a next link.</summary>
    public int MaxEntitiesPerResponse { get; set; } = 20_000;

    /// <summary>Observations one request may read to evaluate the parts of a $filter not done in SQL.</summary>
    public int MaxScannedObservations { get; set; } = 2_000_000;

    /// <summary>Published positions snap to a grid of this many metres (default 100); altitude is never published.</summary>
    public int LocationRoundingMetres { get; set; } = 100;

    /// <summary>A coarser (or finer) grid for one node, by "site.node": a volunteer's garden may want 1000 m.</summary>
    public Dictionary<string, int> NodeLocationRoundingMetres { get; set; } = [];

    /// <summary>SPDX id: CC-BY-4.0 (default), DL-DE-BY-2.0 or ODbL-1.0.</summary>
    public string License { get; set; } = "CC-BY-4.0";

    public string Publisher { get; set; } = "SensorKit";

    /// <summary>The attribution data users must give; default: the publisher.</summary>
    public string? Attribution { get; set; }

    /// <summary>Attribution of one node's data, by "site.node" (e.g. a school that hosts it).</summary>
    public Dictionary<string, string> NodeAttribution { get; set; } = [];

    public string Title { get; set; } = "SensorKit environmental sensor network";

    public string Description { get; set; } = "Windowed observations (mean, minimum, maximum, standard deviation) of low-cost environmental sensor nodes.";

    /// <summary>Publish each new Observation on the embedded broker under v1.1/ (SensorThings MQTT, receiving updates).</summary>
    public bool MqttEnabled { get; set; } = true;

    /// <summary>Write the daily CSV archive per site.</summary>
    public bool ArchiveEnabled { get; set; } = true;

    /// <summary>Where the archive goes; relative to State:Directory. Default: open-data in it.</summary>
    public string ArchiveDirectory { get; set; } = "open-data";

    public string ResolveAttribution(string site, string node) =>
        NodeAttribution.TryGetValue($"{site}.{node}", out string? a) ? a : Attribution ?? Publisher;

    public int ResolveRoundingMetres(string site, string node) =>
        NodeLocationRoundingMetres.TryGetValue($"{site}.{node}", out int m) ? m : LocationRoundingMetres;

    /// <summary>
    /// The position as published: latitude snapped to a grid of <see cref="ResolveRoundingMetres"/> metres, longitude
    /// to the same distance at that latitude, to 6 decimals; null when it is not a finite position.
    /// </summary>
    public (double Latitude, double Longitude)? PublishedPosition(string site, string node, SensorKit.Protocol.GeoLocation? location)
    {
        if (location is not { } l || !double.IsFinite(l.Latitude) || !double.IsFinite(l.Longitude) || Math.Abs(l.Latitude) > 90 || Math.Abs(l.Longitude) > 180)
        {
            return null;
        }

        const double MetresPerDegree = 111_320;
        double step = ResolveRoundingMetres(site, node) / MetresPerDegree;
        double lat = Math.Clamp(Math.Round(l.Latitude / step, MidpointRounding.AwayFromZero) * step, -90, 90);
        double lonStep = step / Math.Max(Math.Cos(lat * Math.PI / 180), 0.01);
        double lon = Math.Clamp(Math.Round(l.Longitude / lonStep, MidpointRounding.AwayFromZero) * lonStep, -180, 180);
        return (Math.Round(lat, 6, MidpointRounding.AwayFromZero), Math.Round(lon, 6, MidpointRounding.AwayFromZero));
    }
}

public sealed class OpenDataOptionsValidator : IValidateOptions<OpenDataOptions>
{
    public ValidateOptionsResult Validate(string? name, OpenDataOptions o)
    {
        const string s = OpenDataOptions.Section;
        var errors = new List<string>();
        void Range(string key, long value, long min, long max)
        {
            if (value < min || value > max)
            {
                errors.Add($"{s}:{key}: {value} must be between {min} and {max}");
            }
        }

        Range(nameof(o.MaxTop), o.MaxTop, 1, 10_000);
        if (o.MaxTop is >= 1 and <= 10_000)
        {
            Range(nameof(o.DefaultTop), o.DefaultTop, 1, o.MaxTop);
        }

        Range(nameof(o.MaxSkip), o.MaxSkip, 0, 100_000_000);
        Range(nameof(o.MaxExpandDepth), o.MaxExpandDepth, 0, 5);
        Range(nameof(o.MaxFilterLength), o.MaxFilterLength, 16, 65_536);
        Range(nameof(o.MaxFilterDepth), o.MaxFilterDepth, 2, 128);
        Range(nameof(o.MaxQueryLength), o.MaxQueryLength, 256, 65_536);
        Range(nameof(o.MaxEntitiesPerResponse), o.MaxEntitiesPerResponse, 1, 1_000_000);
        Range(nameof(o.MaxScannedObservations), o.MaxScannedObservations, 1000, 1_000_000_000);
        Range(nameof(o.LocationRoundingMetres), o.LocationRoundingMetres, 1, 100_000);
        foreach ((string key, int metres) in o.NodeLocationRoundingMetres)
        {
            Range($"NodeLocationRoundingMetres:{key}", metres, 1, 100_000);
        }
        if (!OpenDataOptions.Licenses.ContainsKey(o.License))
        {
            errors.Add($"{s}:License: '{o.License}' is not one of {string.Join(", ", OpenDataOptions.Licenses.Keys)}");
        }

        foreach ((string key, string value) in new[] { (nameof(o.Publisher), o.Publisher), (nameof(o.Title), o.Title), (nameof(o.Description), o.Description), (nameof(o.ArchiveDirectory), o.ArchiveDirectory) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                errors.Add($"{s}:{key}: is empty");
            }
        }

        foreach (string key in o.NodeAttribution.Keys.Concat(o.NodeLocationRoundingMetres.Keys).Where(k => k.Split('.') is not [{ Length: > 0 }, { Length: > 0 }]))
        {
            errors.Add($"{s}:{(o.NodeAttribution.ContainsKey(key) ? "NodeAttribution" : "NodeLocationRoundingMetres")}:{key}: name a node as site.node");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
