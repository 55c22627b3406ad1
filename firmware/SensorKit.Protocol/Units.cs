namespace SensorKit.Protocol;

/// <summary>
/// Unit symbols on the wire. They follow the SenML units registry (RFC 8428 §12.1), so open-data
/// consumers can read them without a SensorKit-specific table.
/// </summary>
public static class Units
{
    public const string Celsius = "Cel";
    public const string RelativeHumidityPercent = "%RH";
    public const string Pascal = "Pa";
    public const string Metre = "m";
    public const string Volt = "V";
    public const string Ampere = "A";
    public const string Watt = "W";
    public const string Lux = "lx";
    public const string Ohm = "Ohm";
    public const string PartsPerMillion = "ppm";
    public const string GramPerCubicMetre = "g/m3";
}

/// <summary>Quantity names used as the last telemetry topic level and in payloads.</summary>
public static class Quantities
{
    public const string Temperature = "temperature";
    public const string Humidity = "humidity";
    public const string Pressure = "pressure";
    public const string GasResistance = "gas-resistance";
    public const string Co2 = "co2";
    public const string Voltage = "voltage";
    public const string Current = "current";
    public const string Power = "power";
    public const string Distance = "distance";
    public const string WaterLevel = "water-level";
    public const string Illuminance = "illuminance";

    // Derived on the node from the quantities above (docs/derived-quantities.md).
    public const string DewPoint = "dew-point";
    public const string AbsoluteHumidity = "absolute-humidity";
    public const string HeatIndex = "heat-index";
    public const string SeaLevelPressure = "sea-level-pressure";
    public const string PressureTendency3h = "pressure-tendency-3h";

    /// <summary>The suffix of a rate-of-change channel: "water-level-rate" in the unit "m/h".</summary>
    public const string RateSuffix = "-rate";
}
