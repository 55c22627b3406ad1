using System.Globalization;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// Words and numbers for alert texts in German and English: quantity names, values in the units people read
/// (hPa, °C, kΩ), German decimal commas. Used for generated descriptions; rule packs supply headlines and advice.
/// </summary>
internal static class AlertText
{
    public static string QuantityLabel(string quantity, bool german) => quantity switch
    {
        Quantities.Temperature => german ? "Lufttemperatur" : "Air temperature",
        "heat-index" => german ? "Gefühlte Temperatur" : "Perceived temperature",
        Quantities.Humidity => german ? "Relative Luftfeuchte" : "Relative humidity",
        Quantities.Pressure => german ? "Luftdruck" : "Air pressure",
        Quantities.WaterLevel => german ? "Wasserstand" : "Water level",
        Quantities.GasResistance => german ? "Gaswiderstand" : "Gas resistance",
        Quantities.Co2 => german ? "CO2-Konzentration" : "CO2 concentration",
        Quantities.Voltage => german ? "Spannung" : "Voltage",
        _ => quantity,
    };

    /// <summary>A value in the unit people read, e.g. 100650 Pa → "1006.5 hPa", 31.42 Cel → "31.4 °C".</summary>
    public static string Format(string unit, double value, bool german, bool magnitude = false)
    {
        if (magnitude)
        {
            value = Math.Abs(value);
        }

        string text = unit switch
        {
            Units.Pascal => Invariant($"{value / 100:0.0} hPa"),
            Units.Celsius => Invariant($"{value:0.0} °C"),
            Units.Metre => Invariant($"{value:0.00} m"),
            Units.Ohm => Invariant($"{value / 1000:0.0} kΩ"),
            Units.PartsPerMillion => Invariant($"{value:0} ppm"),
            Units.Volt => Invariant($"{value:0.00} V"),
            Units.RelativeHumidityPercent => Invariant($"{value:0} %"),
            "%" => Invariant($"{value:0} %"),
            "s" => Duration(TimeSpan.FromSeconds(value), german),
            _ => Invariant($"{value:0.###} {unit}"),
        };
        return german ? text.Replace('.', ',') : text;
    }

    public static string Duration(TimeSpan t, bool german)
    {
        if (t.TotalHours >= 1 && t.TotalMinutes % 60 == 0)
        {
            return Invariant($"{t.TotalHours:0} h");
        }

        if (t.TotalMinutes >= 1)
        {
            return Invariant($"{Math.Round(t.TotalMinutes):0} min");
        }

        string s = Invariant($"{Math.Max(0, t.TotalSeconds):0} s");
        return german ? s.Replace('.', ',') : s;
    }

    public static string Nodes(IReadOnlyList<string> nodes, bool german) => nodes.Count switch
    {
        0 => german ? "keinem Messknoten" : "no sensor node",
        1 => (german ? "Messknoten " : "sensor node ") + nodes[0],
        _ => (german ? "den Messknoten " : "sensor nodes ") + string.Join(", ", nodes),
    };

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
