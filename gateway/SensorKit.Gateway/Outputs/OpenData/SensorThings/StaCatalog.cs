using System.Globalization;
using NetTopologySuite.Geometries;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Outputs.OpenData.Filter;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Outputs.OpenData.SensorThings;

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

    /// <summary>A property's value; one derived from the stored data is computed the first time it is asked for.</summary>
    public object? Get(string name) => Values.GetValueOrDefault(name) is Lazy<object?> lazy ? lazy.Value : Values.GetValueOrDefault(name);
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
    private readonly IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> _nodes;
    private readonly Dictionary<(string Site, string Node), string> _current = [];
    private readonly Dictionary<(string Site, string Node), IReadOnlyList<NodePosition>> _positions = [];

    /// <summary>The Sensor of quantities a node derives from others (docs/derived-quantities.md).</summary>
    public const string Derived = "derived";

    public StaCatalog(
        IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> nodes,
        IReadOnlyDictionary<(string Site, string Node), IReadOnlyList<NodePosition>> positions,
        IReadOnlyList<HistoryChannel> channels,
        OpenDataOptions options,
        Func<HistoryChannel, TimeInterval?> extent)
    {
        foreach (StaKind k in Enum.GetValues<StaKind>())
        {
            _sets[k] = [];
        }

        var things = new SortedSet<(string Site, string Node)>(nodes.Keys.Concat(channels.Select(c => (c.Site, c.Node))));
        ILookup<(string, string), HistoryChannel> channelsOf = channels.ToLookup(c => (c.Site, c.Node));
        var chips = new SortedSet<string>(StringComparer.Ordinal);
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

            // Rounded, and without altitude: a node may stand in someone's garden. One Location and one
            // HistoricalLocation per position the node has had; the Thing's Location is the last.
            IReadOnlyList<NodePosition> places = positions.TryGetValue((site, node), out IReadOnlyList<NodePosition>? p) ? p : [];
            int metres = options.ResolveRoundingMetres(site, node);
            foreach (NodePosition place in places)
            {
                string placeId = PlaceId(site, node, place);
                Point point = Geometry.CreatePoint(new Coordinate(place.Longitude, place.Latitude));
                Add(new StaEntity
                {
                    Kind = StaKind.Location,
                    Id = placeId,
                    Site = site,
                    Node = node,
                    Values = new() { ["name"] = $"Position of {node}", ["description"] = $"Where node {node} stands, rounded to {metres} m", ["encodingType"] = "application/geo+json", ["location"] = point, ["properties"] = new Dictionary<string, object?> { ["roundedToMetres"] = (double)metres } },
                });
                Add(new StaEntity
                {
                    Kind = StaKind.HistoricalLocation,
                    Id = placeId,
                    Site = site,
                    Node = node,
                    Values = new() { ["time"] = place.Since },
                });
            }

            if (places.Count > 0)
            {
                _current[(site, node)] = PlaceId(site, node, places[^1]);
                _positions[(site, node)] = places;
                Add(new StaEntity
                {
                    Kind = StaKind.FeatureOfInterest,
                    Id = id,
                    Site = site,
                    Node = node,
                    Values = new() { ["name"] = $"Surroundings of {node}", ["description"] = $"The air around node {node} at site {site}", ["encodingType"] = "application/geo+json", ["feature"] = Geometry.CreatePoint(new Coordinate(places[^1].Longitude, places[^1].Latitude)), ["properties"] = new Dictionary<string, object?>() },
                });
            }

        }

        _nodes = nodes;
        foreach (HistoryChannel c in channels)
        {
            chips.Add(ChipOf(c));
        }

        foreach (string chip in chips)
        {
            (string encoding, string metadata) = Datasheet(chip);
            Add(new StaEntity
            {
                Kind = StaKind.Sensor,
                Id = chip,
                Sensor = chip,
                Values = new()
                {
                    ["name"] = chip,
                    ["description"] = chip == Derived ? "Quantities a node computes from its sensors' readings (dew point, heat index, rates)" : $"{chip} sensor chip",
                    ["encodingType"] = encoding,
                    ["metadata"] = metadata,
                    ["properties"] = new Dictionary<string, object?>(),
                },
            });
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
            // Derived from the stored windows, so only when asked for (one index lookup each end).
            var time = new Lazy<TimeInterval?>(() => extent(c));
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
                    ["unitOfMeasurement"] = UnitOfMeasurement.Of(c.Unit),
                    ["observedArea"] = new Lazy<object?>(() => time.Value is { } t ? ObservedArea(c.Site, c.Node, t) : null),
                    ["phenomenonTime"] = new Lazy<object?>(() => time.Value),
                    ["properties"] = new Dictionary<string, object?> { ["site"] = c.Site, ["sensor"] = c.Sensor, ["aggregation"] = "window mean; min, max, standard deviation and sample count in parameters" },
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
        (StaKind.Thing, "Locations") => _current.TryGetValue((from.Site, from.Node), out string? place) ? One(StaKind.Location, place) : [],
        (StaKind.HistoricalLocation, "Locations") => One(StaKind.Location, from.Id),
        (StaKind.Location, "HistoricalLocations") => One(StaKind.HistoricalLocation, from.Id),
        (StaKind.Thing, "HistoricalLocations") => _sets[StaKind.HistoricalLocation].Where(h => h.Site == from.Site && h.Node == from.Node),
        (StaKind.Location, "Things") or (StaKind.HistoricalLocation or StaKind.Datastream, "Thing") => One(StaKind.Thing, ThingId(from.Site, from.Node)),
        (StaKind.Thing, "Datastreams") => _sets[StaKind.Datastream].Where(d => d.Site == from.Site && d.Node == from.Node),
        (StaKind.Sensor, "Datastreams") => _sets[StaKind.Datastream].Where(d => ChipOf(d.Channel!) == from.Id),
        (StaKind.ObservedProperty, "Datastreams") => _sets[StaKind.Datastream].Where(d => d.Quantity == from.Quantity),
        (StaKind.Datastream, "Sensor") => One(StaKind.Sensor, ChipOf(from.Channel!)),
        (StaKind.Datastream, "ObservedProperty") => One(StaKind.ObservedProperty, from.Quantity!),
        (StaKind.Observation, "Datastream") => One(StaKind.Datastream, DatastreamId(from.Channel!)),
        (StaKind.Observation, "FeatureOfInterest") => One(StaKind.FeatureOfInterest, ThingId(from.Site, from.Node)),
        _ => [],
    };

    /// <summary>The chip a channel's sensor is, from the node's status (its sensor's type); else the sensor's name.</summary>
    public string ChipOf(HistoryChannel c) => ChipOf(_nodes, c);

    public static string ChipOf(IReadOnlyDictionary<(string Site, string Node), NodeStatusMessage> nodes, HistoryChannel c) =>
        c.Sensor == Derived ? Derived
        : (nodes.TryGetValue((c.Site, c.Node), out NodeStatusMessage? s) ? s.Sensors.FirstOrDefault(x => x.Id == c.Sensor)?.Type : null) is { } type ? Chip(type)
        : Chip(c.Sensor);

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
                StaEntity e when e.Values.ContainsKey(segment) => e.Get(segment),
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
        Quantities.GasResistance => "http://qudt.org/vocab/quantitykind/Resistance",
        Quantities.Co2 => "http://qudt.org/vocab/quantitykind/MoleFraction",
        Quantities.Distance => "http://qudt.org/vocab/quantitykind/Distance",
        Quantities.WaterLevel => "http://qudt.org/vocab/quantitykind/Height",
        Quantities.HeatIndex => "http://qudt.org/vocab/quantitykind/Temperature",
        Quantities.SeaLevelPressure => "http://qudt.org/vocab/quantitykind/AtmosphericPressure",
        _ => "urn:sensorkit:quantity:" + quantity,
    };

    private static string PlaceId(string site, string node, NodePosition place) =>
        $"{ThingId(site, node)}.{place.Since.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}";

    private static string Chip(string type) => type.ToUpperInvariant();

    /// <summary>The chip's datasheet (as linked from the firmware's sensor READMEs): encodingType and metadata.</summary>
    private static (string EncodingType, string Metadata) Datasheet(string chip) => chip switch
    {
        "BME280" => ("application/pdf", "https://www.bosch-sensortec.com/media/boschsensortec/downloads/datasheets/bst-bme280-ds002.pdf"),
        "BMP280" => ("application/pdf", "https://www.bosch-sensortec.com/media/boschsensortec/downloads/datasheets/bst-bmp280-ds001.pdf"),
        "BME680" => ("application/pdf", "https://www.bosch-sensortec.com/media/boschsensortec/downloads/datasheets/bst-bme680-ds001.pdf"),
        "SHT3X" => ("application/pdf", "https://sensirion.com/media/documents/213E6A3B/63A5A569/Datasheet_SHT3x_DIS.pdf"),
        "SHT4X" => ("application/pdf", "https://sensirion.com/media/documents/33FD6951/63B52FAF/Datasheet_SHT4x.pdf"),
        "SCD4X" => ("application/pdf", "https://sensirion.com/media/documents/E0F04247/631EF271/CD_DS_SCD40_SCD41_Datasheet_D1.pdf"),
        "ADS1115" => ("application/pdf", "https://www.ti.com/lit/ds/symlink/ads1115.pdf"),
        "INA219" => ("application/pdf", "https://www.ti.com/lit/ds/symlink/ina219.pdf"),
        "VL53L0X" => ("application/pdf", "https://www.st.com/resource/en/datasheet/vl53l0x.pdf"),
        "BH1750" => ("text/html", "https://www.rohm.com/products/sensors-mems/ambient-light-sensor-ics/bh1750fvi-product"),
        Derived => ("text/plain", "Computed on the node from its sensors' readings; see the SensorKit documentation, derived quantities"),
        _ => ("text/plain", $"{chip}; no datasheet on record"),
    };

    /// <summary>Where the node stood while the datastream's windows were taken: a point, or the hull of its positions.</summary>
    private Geometry? ObservedArea(string site, string node, TimeInterval time)
    {
        if (!_positions.TryGetValue((site, node), out IReadOnlyList<NodePosition>? places))
        {
            return null;
        }

        var used = new List<Coordinate>();
        for (int i = 0; i < places.Count; i++)
        {
            DateTimeOffset until = i + 1 < places.Count ? places[i + 1].Since : DateTimeOffset.MaxValue;
            if (places[i].Since <= time.End && until > time.Start)
            {
                used.Add(new Coordinate(places[i].Longitude, places[i].Latitude));
            }
        }

        if (used.Count == 0)
        {
            used.Add(new Coordinate(places[^1].Longitude, places[^1].Latitude));
        }

        return used.Count == 1 ? Geometry.CreatePoint(used[0]) : Geometry.CreateMultiPointFromCoords([.. used]).ConvexHull();
    }

    private IEnumerable<StaEntity> One(StaKind kind, string id) => Find(kind, id) is { } e ? [e] : [];

    private void Add(StaEntity e)
    {
        _sets[e.Kind].Add(e);
        _byId[(e.Kind, e.Id)] = e;
    }
}
