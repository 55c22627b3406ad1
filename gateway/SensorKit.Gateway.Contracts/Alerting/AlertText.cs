using System.Globalization;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Contracts;

/// <summary>
/// Words and numbers for alert texts in German and English: quantity names, values in the units people read
/// (hPa, °C, kΩ), German decimal commas. Used for generated descriptions; rule packs supply headlines and advice.
/// </summary>
public static class AlertText
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

    /// <summary>
    /// <paramref name="value"/> rounded to the resolution people read its unit in, e.g. 0.5000799999999996 m →
    /// 0.5, 100653 Pa → 100650 (0.1 hPa). The JSON alert, the CAP parameters and the CAP texts all carry this.
    /// </summary>
    public static double Round(string unit, double value)
    {
        if (!double.IsFinite(value))
        {
            return value;
        }

        int exponent = Resolution(unit).Exponent;

        // Steps of 10, 100 Pa or Ω are rounded as whole numbers, so no binary fraction creeps back in; adding zero turns -0 into 0.
        double rounded = exponent >= 0
            ? Math.Round(value / Math.Pow(10, exponent), MidpointRounding.AwayFromZero) * Math.Pow(10, exponent)
            : Math.Round(value, -exponent, MidpointRounding.AwayFromZero);
        return rounded + 0.0;
    }

    /// <summary>A value in the unit people read, at its resolution (<see cref="Round"/>), e.g. 100650 Pa → "1006.5 hPa", 31.42 Cel → "31.4 °C".</summary>
    public static string Format(string unit, double value, bool german, bool magnitude = false)
    {
        if (magnitude)
        {
            value = Math.Abs(value);
        }

        if (unit == "s")
        {
            return Duration(TimeSpan.FromSeconds(Round(unit, value)), german);
        }

        (int exponent, int scale, string symbol) = Resolution(unit);
        double shown = Round(unit, value) / Math.Pow(10, scale);
        string number = exponent == Unresolved
            ? shown.ToString("0.###", CultureInfo.InvariantCulture)
            : shown.ToString("F" + Math.Max(0, scale - exponent).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        string text = $"{number} {symbol}";
        return german ? text.Replace('.', ',') : text;
    }

    // Units without a known resolution keep three decimals, trailing zeros dropped.
    private const int Unresolved = -3;

    /// <summary>
    /// Per unit on the wire: the resolution as a power of ten in that unit, the power of ten of the unit people read
    /// (hPa, kΩ), and its symbol. The one table behind every published number of an alert.
    /// </summary>
    private static (int Exponent, int Scale, string Symbol) Resolution(string unit) => unit switch
    {
        Units.Pascal => (1, 2, "hPa"),
        Units.Celsius => (-1, 0, "°C"),
        Units.Metre => (-2, 0, "m"),
        Units.Ohm => (2, 3, "kΩ"),
        Units.PartsPerMillion => (0, 0, "ppm"),
        Units.Volt => (-2, 0, "V"),
        Units.Ampere => (-3, 0, "A"),
        Units.Watt => (-1, 0, "W"),
        Units.Lux => (0, 0, "lx"),
        Units.GramPerCubicMetre => (-1, 0, "g/m³"),
        Units.RelativeHumidityPercent => (0, 0, "%"),
        "%" => (0, 0, "%"),
        "s" or "count" => (0, 0, unit),
        _ => (Unresolved, 0, unit),
    };

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
