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

    /// <summary>ADC input (ads1115): AIN0…AIN3 against GND, or a differential pair AIN0-AIN1, AIN0-AIN3, AIN1-AIN3, AIN2-AIN3; default AIN0.</summary>
    public string? Input { get; set; }

    /// <summary>Full-scale range of the ADC's amplifier in volts (ads1115): 6.144, 4.096 (default), 2.048, 1.024, 0.512 or 0.256.</summary>
    public double? FullScale { get; set; }

    /// <summary>Linear scaling of the measured voltage to a physical quantity (ads1115), published as a second channel.</summary>
    public ScaleOptions? Scale { get; set; }

    /// <summary>Metres from the sensor down to the water level's zero (vl53l0x); when set, water level = MountingHeight − distance is published too.</summary>
    public double? MountingHeight { get; set; }

    /// <summary>Shunt resistor in ohms (ina219); default 0.1 Ω, as on most breakouts.</summary>
    public double? ShuntResistance { get; set; }

    /// <summary>Largest current expected through the shunt in amperes (ina219); default 3.2 A, the ±320 mV range across 0.1 Ω.</summary>
    public double? MaxCurrent { get; set; }

    /// <summary>Per-channel pipeline settings, keyed by quantity (e.g. "temperature", "dew-point"); see <see cref="ChannelOptions"/>.</summary>
    public Dictionary<string, ChannelOptions> Channels { get; set; } = new(StringComparer.OrdinalIgnoreCase);

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

/// <summary>
/// A straight line from volts to a physical value, e.g. a pressure transducer's 0.5–4.5 V to a
/// water level of 0–5 m. Readings outside FromVolts…ToVolts are extrapolated and flagged out of range.
/// </summary>
public sealed class ScaleOptions
{
    public double? FromVolts { get; set; }
    public double? ToVolts { get; set; }
    public double? FromValue { get; set; }
    public double? ToValue { get; set; }

    /// <summary>Telemetry quantity (topic level) of the scaled channel, e.g. "water-level".</summary>
    public string? Quantity { get; set; }

    /// <summary>SenML unit of the scaled value, e.g. "m".</summary>
    public string? Unit { get; set; }

    /// <summary>The scaled value of <paramref name="volts"/>; call only on validated options.</summary>
    public double Apply(double volts) =>
        FromValue!.Value + ((volts - FromVolts!.Value) * (ToValue!.Value - FromValue.Value) / (ToVolts!.Value - FromVolts.Value));
}
