using System.Globalization;
using NetTopologySuite.Geometries;
using SensorKit.Gateway.History;
using SensorKit.Gateway.OpenData.Filter;
using SensorKit.Protocol;

namespace SensorKit.Gateway.OpenData.SensorThings;

/// <summary>
/// One entity. <see cref="Values"/> holds the published properties only: node health, errors, bus addresses and
/// outbox figures are operator data and never get here.
/// </summary>
public sealed class StaEntity
{
    public required StaKind Kind { get; init; }

    public required string Id { get; init; }

    public required Dictionary<string, object?> Values { get; init; }

    public string Site { get; init; } = string.Empty;

    public string Node { get; init; } = string.Empty;

    public string? Sensor { get; init; }

    public string? Quantity { get; init; }

    public HistoryChannel? Channel { get; init; }
}

/// <summary>
/// The metadata entities at one moment, built from the node directory (positions, firmware, sensor chips) and the
/// history's channels (the datastreams). Ids are names, so they are stable across restarts: a Thing is
/// "site.node", a Sensor "site.node.sensor", a Datastream "site.node.sensor.quantity", an ObservedProperty its
/// quantity, an Observation "datastream.endMs".
/// </summary>
public sealed class StaCatalog
{
    private static readonly GeometryFactory Geometry = new(new PrecisionModel(), 4326);

    private readonly Dictionary<StaKind, List<StaEntity>> _sets = [];
    private readonly Dictionary<(StaKind, string), StaEntity> _byId = [];

    public StaCatalog(IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> nodes, IReadOnlyList<HistoryChannel> channels, OpenDataOptions options)
    {
        foreach (StaKind k in Enum.GetValues<StaKind>())
        {
            _sets[k] = [];
        }

        var things = new SortedSet<(string Site, string Node)>(nodes.Keys.Concat(channels.Select(c => (c.Site, c.Node))));
        ILookup<(string, string), HistoryChannel> channelsOf = channels.ToLookup(c => (c.Site, c.Node));
        foreach ((string site, string node) in things)
        {
            NodeStatusMessage? status = nodes.TryGetValue((site, node), out NodeStatusMessage? s) ? s : null;
            string id = ThingId(site, node);
            var properties = new Dictionary<string, object?> { ["site"] = site, ["node"] = node };
            if (status?.Firmware is { } firmware)
            {
                properties["firmware"] = firmware;
            }

            properties["attribution"] = options.ResolveAttribution(site, node);
            properties["license"] = options.License;
            Add(new StaEntity
            {
                Kind = StaKind.Thing,
                Id = id,
                Site = site,
                Node = node,
                Values = new() { ["name"] = node, ["description"] = $"SensorKit node {node} at site {site}", ["properties"] = properties },
            });

            if (status?.Location is { } location && double.IsFinite(location.Latitude) && double.IsFinite(location.Longitude))
            {
                // Rounded, and without altitude: a node may stand in someone's garden.
                Point point = Geometry.CreatePoint(new Coordinate(
                    Math.Round(location.Longitude, options.LocationDecimals, MidpointRounding.AwayFromZero),
                    Math.Round(location.Latitude, options.LocationDecimals, MidpointRounding.AwayFromZero)));
                var placeProperties = new Dictionary<string, object?> { ["roundedToDecimals"] = (double)options.LocationDecimals };
                Add(new StaEntity
                {
                    Kind = StaKind.Location,
                    Id = id,
                    Site = site,
                    Node = node,
                    Values = new() { ["name"] = $"Position of {node}", ["description"] = $"Where node {node} stands, rounded to {options.LocationDecimals} decimal places", ["encodingType"] = "application/geo+json", ["location"] = point, ["properties"] = placeProperties },
                });
                Add(new StaEntity
                {
                    Kind = StaKind.HistoricalLocation,
                    Id = id,
                    Site = site,
                    Node = node,
                    Values = new() { ["time"] = status.Started ?? status.Time },
                });
                Add(new StaEntity
                {
                    Kind = StaKind.FeatureOfInterest,
                    Id = id,
                    Site = site,
                    Node = node,
                    Values = new() { ["name"] = $"Surroundings of {node}", ["description"] = $"The air around node {node} at site {site}", ["encodingType"] = "application/geo+json", ["feature"] = point, ["properties"] = new Dictionary<string, object?>() },
                });
            }

            var sensors = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (SensorStatus sensor in status?.Sensors ?? [])
            {
                sensors[sensor.Id] = sensor.Type;
            }

            foreach (HistoryChannel c in channelsOf[(site, node)])
            {
                sensors.TryAdd(c.Sensor, c.Sensor == "derived" ? "derived" : c.Sensor);
            }

            foreach ((string sensor, string type) in sensors)
            {
                string chip = type.ToUpperInvariant();
                Add(new StaEntity
                {
                    Kind = StaKind.Sensor,
                    Id = $"{id}.{sensor}",
                    Site = site,
                    Node = node,
                    Sensor = sensor,
                    Values = new()
                    {
                        ["name"] = sensor,
                        ["description"] = type == "derived" ? $"Quantities node {node} computes from its sensors" : $"{chip} on node {node}",
                        ["encodingType"] = "text/plain",
                        ["metadata"] = type == "derived" ? "derived quantities (see the SensorKit protocol)" : chip,
                        ["properties"] = new Dictionary<string, object?> { ["type"] = type },
                    },
                });
            }
        }

        foreach (string quantity in channels.Select(c => c.Quantity).Distinct().Order(StringComparer.Ordinal))
        {
            Add(new StaEntity
            {
                Kind = StaKind.ObservedProperty,
                Id = quantity,
                Quantity = quantity,
                Values = new() { ["name"] = quantity, ["definition"] = Definition(quantity), ["description"] = $"SensorKit quantity '{quantity}'", ["properties"] = new Dictionary<string, object?>() },
            });
        }

        foreach (HistoryChannel c in channels.OrderBy(c => DatastreamId(c), StringComparer.Ordinal))
        {
            Add(new StaEntity
            {
                Kind = StaKind.Datastream,
                Id = DatastreamId(c),
                Site = c.Site,
                Node = c.Node,
                Sensor = c.Sensor,
                Quantity = c.Quantity,
                Channel = c,
                Values = new()
                {
                    ["name"] = $"{c.Quantity} at {c.Node} ({c.Sensor})",
                    ["description"] = $"Window means of {c.Quantity} measured by {c.Sensor} on node {c.Node} at site {c.Site}",
                    ["observationType"] = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                    ["unitOfMeasurement"] = new Dictionary<string, object?> { ["name"] = c.Unit, ["symbol"] = c.Unit, ["definition"] = "https://ucum.org/ucum#" + Uri.EscapeDataString(c.Unit) },
                    ["properties"] = new Dictionary<string, object?> { ["site"] = c.Site, ["aggregation"] = "window mean; min, max, standard deviation and sample count in parameters" },
                },
            });
        }
    }

    public IReadOnlyList<StaEntity> All(StaKind kind) => _sets[kind];

    public StaEntity? Find(StaKind kind, string id) => _byId.TryGetValue((kind, id), out StaEntity? e) ? e : null;

    public static string ThingId(string site, string node) => $"{site}.{node}";

    public static string DatastreamId(HistoryChannel c) => $"{c.Site}.{c.Node}.{c.Sensor}.{c.Quantity}";

    public static string ObservationId(HistoryChannel c, DateTimeOffset end) => $"{DatastreamId(c)}.{end.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}";

    /// <summary>An observation's datastream and window end from its id; false when it names none.</summary>
    public bool TryParseObservationId(string id, out StaEntity datastream, out long endMs)
    {
        datastream = null!;
        endMs = 0;
        int dot = id.LastIndexOf('.');
        return dot > 0
            && long.TryParse(id.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out endMs)
            && Find(StaKind.Datastream, id[..dot]) is { } d
            && (datastream = d) is not null;
    }

    /// <summary>The entities a single-valued navigation leads to (one or none) or a collection navigation holds; observations excluded.</summary>
    public IEnumerable<StaEntity> Navigate(StaEntity from, string navigation) => (from.Kind, navigation) switch
    {
        (StaKind.Thing or StaKind.HistoricalLocation or StaKind.Location, "Locations") => One(StaKind.Location, ThingId(from.Site, from.Node)),
        (StaKind.Thing or StaKind.Location, "HistoricalLocations") => One(StaKind.HistoricalLocation, ThingId(from.Site, from.Node)),
        (StaKind.Location, "Things") or (StaKind.HistoricalLocation or StaKind.Datastream, "Thing") => One(StaKind.Thing, ThingId(from.Site, from.Node)),
        (StaKind.Thing, "Datastreams") => _sets[StaKind.Datastream].Where(d => d.Site == from.Site && d.Node == from.Node),
        (StaKind.Sensor, "Datastreams") => _sets[StaKind.Datastream].Where(d => d.Site == from.Site && d.Node == from.Node && d.Sensor == from.Sensor),
        (StaKind.ObservedProperty, "Datastreams") => _sets[StaKind.Datastream].Where(d => d.Quantity == from.Quantity),
        (StaKind.Datastream, "Sensor") => One(StaKind.Sensor, $"{ThingId(from.Site, from.Node)}.{from.Sensor}"),
        (StaKind.Datastream, "ObservedProperty") => One(StaKind.ObservedProperty, from.Quantity!),
        (StaKind.Observation, "Datastream") => One(StaKind.Datastream, DatastreamId(from.Channel!)),
        (StaKind.Observation, "FeatureOfInterest") => One(StaKind.FeatureOfInterest, ThingId(from.Site, from.Node)),
        _ => [],
    };

    /// <summary>The channels whose observations a navigation to Observations from <paramref name="from"/> holds.</summary>
    public IReadOnlyList<HistoryChannel> ObservationChannels(StaEntity? from) => from switch
    {
        null => [.. _sets[StaKind.Datastream].Select(d => d.Channel!)],
        { Kind: StaKind.Datastream } => [from.Channel!],
        { Kind: StaKind.FeatureOfInterest } => [.. _sets[StaKind.Datastream].Where(d => d.Site == from.Site && d.Node == from.Node).Select(d => d.Channel!)],
        _ => [],
    };

    /// <summary>A window as an Observation: the result is the window mean, the rest of its statistics are parameters.</summary>
    public static StaEntity Observation(in HistoryRow row)
    {
        var parameters = new Dictionary<string, object?>
        {
            ["count"] = (double)row.Count,
            ["min"] = row.Min,
            ["max"] = row.Max,
            ["stdDev"] = row.StdDev,
        };
        return new StaEntity
        {
            Kind = StaKind.Observation,
            Id = ObservationId(row.Channel, row.End),
            Site = row.Channel.Site,
            Node = row.Channel.Node,
            Sensor = row.Channel.Sensor,
            Quantity = row.Channel.Quantity,
            Channel = row.Channel,
            Values = new()
            {
                ["phenomenonTime"] = new TimeInterval(row.Start, row.End),
                ["resultTime"] = row.End,
                ["result"] = row.Mean,
                ["resultQuality"] = Quality(row.Flags),
                ["parameters"] = parameters,
            },
        };
    }

    /// <summary>A property path's value on an entity, following single-valued navigations; null when absent.</summary>
    public object? Resolve(StaEntity entity, IReadOnlyList<string> path)
    {
        object? current = entity;
        foreach (string segment in path)
        {
            current = current switch
            {
                StaEntity e when segment is "id" or "@iot.id" => e.Id,
                StaEntity e when e.Values.TryGetValue(segment, out object? v) => v,
                StaEntity e => Navigate(e, segment).FirstOrDefault(),
                IReadOnlyDictionary<string, object?> d => d.TryGetValue(segment, out object? v) ? v : null,
                _ => null,
            };
            if (current is null)
            {
                return null;
            }
        }

        return current is StaEntity ? null : current;
    }

    private static List<string>? Quality(QualityFlags flags)
    {
        if (flags == QualityFlags.None)
        {
            return null;
        }

        var names = new List<string>();
        foreach ((QualityFlags f, string name) in new[] { (QualityFlags.Gaps, "gaps"), (QualityFlags.ReadErrors, "read-errors"), (QualityFlags.OutOfRange, "out-of-range"), (QualityFlags.Stuck, "stuck"), (QualityFlags.Stale, "stale") })
        {
            if (flags.HasFlag(f))
            {
                names.Add(name);
            }
        }

        return names;
    }

    private static string Definition(string quantity) => quantity switch
    {
        Quantities.Temperature => "http://qudt.org/vocab/quantitykind/Temperature",
        Quantities.Humidity => "http://qudt.org/vocab/quantitykind/RelativeHumidity",
        Quantities.Pressure => "http://qudt.org/vocab/quantitykind/AtmosphericPressure",
        Quantities.DewPoint => "http://qudt.org/vocab/quantitykind/DewPointTemperature",
        Quantities.AbsoluteHumidity => "http://qudt.org/vocab/quantitykind/AbsoluteHumidity",
        Quantities.Illuminance => "http://qudt.org/vocab/quantitykind/Illuminance",
        Quantities.Voltage => "http://qudt.org/vocab/quantitykind/Voltage",
        Quantities.Current => "http://qudt.org/vocab/quantitykind/ElectricCurrent",
        Quantities.Power => "http://qudt.org/vocab/quantitykind/Power",
        _ => "urn:sensorkit:quantity:" + quantity,
    };

    private IEnumerable<StaEntity> One(StaKind kind, string id) => Find(kind, id) is { } e ? [e] : [];

    private void Add(StaEntity e)
    {
        _sets[e.Kind].Add(e);
        _byId[(e.Kind, e.Id)] = e;
    }
}
