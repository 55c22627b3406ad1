using SensorKit.Protocol;

namespace SensorKit.Gateway.Outputs.OpenData.SensorThings;

/// <summary>
/// A Datastream's unitOfMeasurement: the wire unit (SenML, docs/protocol.md) as name, symbol and a UCUM definition
/// (OGC's UCUM register, http://www.opengis.net/def/uom/UCUM/).
/// </summary>
public static class UnitOfMeasurement
{
    private const string Ucum = "http://www.opengis.net/def/uom/UCUM/0/";

    public static Dictionary<string, object?> Of(string unit)
    {
        (string name, string symbol, string code) = Parts(unit);
        return new() { ["name"] = name, ["symbol"] = symbol, ["definition"] = Ucum + Uri.EscapeDataString(code) };
    }

    private static (string Name, string Symbol, string Code) Parts(string unit)
    {
        if (unit.EndsWith("/h", StringComparison.Ordinal) && unit.Length > 2)
        {
            // A rate channel (Quantities.RateSuffix): its quantity's unit per hour.
            (string name, string symbol, string code) = Parts(unit[..^2]);
            return ($"{name} per hour", symbol + "/h", code + "/h");
        }

        return unit switch
        {
            Units.Celsius => ("degree Celsius", "°C", "Cel"),
            Units.RelativeHumidityPercent => ("percent relative humidity", "%", "%"),
            Units.Pascal => ("pascal", "Pa", "Pa"),
            Units.Metre => ("metre", "m", "m"),
            Units.Volt => ("volt", "V", "V"),
            Units.Ampere => ("ampere", "A", "A"),
            Units.Watt => ("watt", "W", "W"),
            Units.Lux => ("lux", "lx", "lx"),
            Units.Ohm => ("ohm", "Ω", "Ohm"),
            Units.PartsPerMillion => ("parts per million", "ppm", "[ppm]"),
            Units.GramPerCubicMetre => ("gram per cubic metre", "g/m³", "g/m3"),
            _ => (unit, unit, unit),
        };
    }
}
