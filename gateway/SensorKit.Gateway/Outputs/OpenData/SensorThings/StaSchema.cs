namespace SensorKit.Gateway.Outputs.OpenData.SensorThings;

public enum StaKind
{
    Thing,
    Location,
    HistoricalLocation,
    Sensor,
    ObservedProperty,
    Datastream,
    Observation,
    FeatureOfInterest,
}

/// <summary>A navigation property: its name, the entity type it leads to, and whether it is a collection.</summary>
public sealed record StaNavigation(string Name, StaKind Target, bool Collection);

/// <summary>An entity type of the Sensing Core data model (OGC 18-088, section 8.2): its set, properties and links.</summary>
public sealed record StaEntityType(StaKind Kind, string SetName, IReadOnlyList<string> Properties, IReadOnlyList<string> ObjectProperties, IReadOnlyList<StaNavigation> Navigations)
{
    public StaNavigation? Navigation(string name) => Navigations.FirstOrDefault(n => n.Name == name);
}

public static class StaSchema
{
    public const string Version = "v1.1";

    /// <summary>Where the API is served below the gateway's HTTP root (OGC 18-088 leaves the prefix to the service).</summary>
    public const string PathPrefix = "sta/" + Version;

    public static readonly IReadOnlyList<string> Conformance =
    [
        "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
        "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
        "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    ];

    /// <summary>Annex A.8, receiving updates via MQTT: listed when the gateway publishes them (StaMqttPublisher).</summary>
    public const string MqttReceiveUpdates = "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt";

    public static readonly IReadOnlyList<StaEntityType> Types =
    [
        new(StaKind.Thing, "Things", ["name", "description", "properties"], ["properties"],
            [new("Locations", StaKind.Location, true), new("HistoricalLocations", StaKind.HistoricalLocation, true), new("Datastreams", StaKind.Datastream, true)]),
        new(StaKind.Location, "Locations", ["name", "description", "encodingType", "location", "properties"], ["location", "properties"],
            [new("Things", StaKind.Thing, true), new("HistoricalLocations", StaKind.HistoricalLocation, true)]),
        new(StaKind.HistoricalLocation, "HistoricalLocations", ["time"], [],
            [new("Thing", StaKind.Thing, false), new("Locations", StaKind.Location, true)]),
        new(StaKind.Sensor, "Sensors", ["name", "description", "encodingType", "metadata", "properties"], ["properties"],
            [new("Datastreams", StaKind.Datastream, true)]),
        new(StaKind.ObservedProperty, "ObservedProperties", ["name", "definition", "description", "properties"], ["properties"],
            [new("Datastreams", StaKind.Datastream, true)]),
        new(StaKind.Datastream, "Datastreams", ["name", "description", "observationType", "unitOfMeasurement", "observedArea", "phenomenonTime", "properties"], ["unitOfMeasurement", "properties"],
            [new("Thing", StaKind.Thing, false), new("Sensor", StaKind.Sensor, false), new("ObservedProperty", StaKind.ObservedProperty, false), new("Observations", StaKind.Observation, true)]),
        new(StaKind.Observation, "Observations", ["phenomenonTime", "resultTime", "result", "resultQuality", "parameters"], ["parameters"],
            [new("Datastream", StaKind.Datastream, false), new("FeatureOfInterest", StaKind.FeatureOfInterest, false)]),
        new(StaKind.FeatureOfInterest, "FeaturesOfInterest", ["name", "description", "encodingType", "feature", "properties"], ["feature", "properties"],
            [new("Observations", StaKind.Observation, true)]),
    ];

    public static StaEntityType Of(StaKind kind) => Types[(int)kind];

    public static StaEntityType? BySet(string name) => Types.FirstOrDefault(t => t.SetName == name);

    /// <summary>Why a property path does not exist on an entity type; null when it does.</summary>
    public static string? CheckPath(StaKind kind, IReadOnlyList<string> path)
    {
        StaEntityType type = Of(kind);
        for (int i = 0; i < path.Count; i++)
        {
            string segment = path[i];
            if (segment is "id" or "@iot.id")
            {
                return i == path.Count - 1 ? null : $"'{segment}' has no properties";
            }

            if (type.Properties.Contains(segment))
            {
                // Objects take any key below them (properties are free-form); plain values take none.
                return i == path.Count - 1 || type.ObjectProperties.Contains(segment) ? null : $"'{segment}' of {type.SetName} has no properties";
            }

            if (type.Navigation(segment) is { } nav)
            {
                if (nav.Collection)
                {
                    return $"'{segment}' is a collection; lambda operators (any, all) are not supported";
                }

                if (i == path.Count - 1)
                {
                    return $"'{segment}' is an entity, not a value";
                }

                type = Of(nav.Target);
                continue;
            }

            return $"{type.SetName} have no property '{Clip(segment)}'";
        }

        return "an empty property path";
    }

    internal static string Clip(string s) => s.Length <= 40 ? s : string.Concat(s.AsSpan(0, 40), "...");
}
