using System.Globalization;

namespace SensorKit.Node.Configuration;

/// <summary>Configuration section "Node": who this node is, where it stands, and what it measures.</summary>
public sealed class NodeOptions
{
    public const string Section = "Node";

    /// <summary>Topic level and dedupe key; unique per site.</summary>
    public string Id { get; set; } = string.Empty;

    public string Site { get; set; } = string.Empty;

    public LocationOptions Location { get; set; } = new();

    /// <summary>Tumbling aggregation window for every channel that does not set its own.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the retained status is refreshed, besides every health change.</summary>
    public TimeSpan StatusInterval { get; set; } = TimeSpan.FromSeconds(60);

    public List<SensorOptions> Sensors { get; set; } = [];
}

public sealed class LocationOptions
{
    public double Latitude { get; set; }
    public double Longitude { get; set; }

    /// <summary>Metres above mean sea level; needed for sea-level pressure.</summary>
    public double? Altitude { get; set; }
}

public sealed class SensorOptions
{
    /// <summary>Topic level for the sensor; defaults to the type name.</summary>
    public string? Id { get; set; }

    /// <summary>A type from the sensor catalog, e.g. "bme280".</summary>
    public string Type { get; set; } = string.Empty;

    /// <summary>Linux I2C bus number: 1 on a Raspberry Pi's header pins 3 and 5.</summary>
    public int Bus { get; set; } = 1;

    /// <summary>7-bit I2C address, written "0x76" (hex) or "118"; empty takes the type's default.</summary>
    public string? Address { get; set; }

    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Per-channel pipeline settings, keyed by quantity (e.g. "temperature", "dew-point"); see <see cref="ChannelOptions"/>.</summary>
    public Dictionary<string, ChannelOptions> Channels { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// For a downward-looking distance sensor over water: its height in metres above the gauge datum.
    /// When set, the node publishes "water-level" = MountingHeight − distance.
    /// </summary>
    public double? MountingHeight { get; set; }

    public string EffectiveId => string.IsNullOrEmpty(Id) ? Type.ToLowerInvariant() : Id;

    /// <summary>Parses <see cref="Address"/>; null when it is not a number.</summary>
    public int? ParseAddress(int defaultAddress)
    {
        if (string.IsNullOrWhiteSpace(Address))
        {
            return defaultAddress;
        }

        string s = Address.Trim();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return int.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int hex) ? hex : null;
        }

        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int dec) ? dec : null;
    }
}
