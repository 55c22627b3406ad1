using System.Globalization;
using System.Text.Json;
using NetTopologySuite.Geometries;
using SensorKit.Gateway.Outputs.OpenData.Filter;

namespace SensorKit.Gateway.Outputs.OpenData.SensorThings;

/// <summary>Writes SensorThings JSON with a <see cref="Utf8JsonWriter"/>: values, and GeoJSON for geometries.</summary>
internal static class StaWriter
{
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFF'Z'", CultureInfo.InvariantCulture);

    public static void Value(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null:
                w.WriteNullValue();
                break;
            case string s:
                w.WriteStringValue(s);
                break;
            case double d:
                w.WriteNumberValue(d);
                break;
            case bool b:
                w.WriteBooleanValue(b);
                break;
            case DateTimeOffset t:
                w.WriteStringValue(Time(t));
                break;
            case TimeInterval i:
                w.WriteStringValue($"{Time(i.Start)}/{Time(i.End)}");
                break;
            case Point p:
                w.WriteStartObject();
                w.WriteString("type", "Point");
                w.WriteStartArray("coordinates");
                w.WriteNumberValue(p.X);
                w.WriteNumberValue(p.Y);
                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case LineString l:
                w.WriteStartObject();
                w.WriteString("type", "LineString");
                w.WritePropertyName("coordinates");
                Positions(w, l.Coordinates);
                w.WriteEndObject();
                break;
            case Polygon p when p.NumInteriorRings == 0:
                w.WriteStartObject();
                w.WriteString("type", "Polygon");
                w.WriteStartArray("coordinates");
                Positions(w, p.ExteriorRing.Coordinates);
                w.WriteEndArray();
                w.WriteEndObject();
                break;
            case Geometry g:
                w.WriteStringValue(g.AsText());
                break;
            case IEnumerable<KeyValuePair<string, object?>> d:
                w.WriteStartObject();
                foreach ((string k, object? v) in d)
                {
                    w.WritePropertyName(k);
                    Value(w, v);
                }

                w.WriteEndObject();
                break;
            case IEnumerable<string> list:
                w.WriteStartArray();
                foreach (string s in list)
                {
                    w.WriteStringValue(s);
                }

                w.WriteEndArray();
                break;
            default:
                w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void Positions(Utf8JsonWriter w, Coordinate[] coordinates)
    {
        w.WriteStartArray();
        foreach (Coordinate c in coordinates)
        {
            w.WriteStartArray();
            w.WriteNumberValue(c.X);
            w.WriteNumberValue(c.Y);
            w.WriteEndArray();
        }

        w.WriteEndArray();
    }

    public static void Error(Utf8JsonWriter w, int status, string message)
    {
        w.WriteStartObject();
        w.WriteNumber("code", status);
        w.WriteString("type", "error");
        w.WriteString("message", message);
        w.WriteEndObject();
    }
}
