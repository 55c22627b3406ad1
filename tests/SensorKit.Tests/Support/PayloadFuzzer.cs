using System.Globalization;
using System.Text;
using SensorKit.Protocol;

namespace SensorKit.Tests.Support;

/// <summary>
/// Hostile node messages from a seeded generator: bad JSON, wrong types, non-finite and huge numbers, deep nesting,
/// 60 KiB strings, wrong schema, topic/payload mismatch, bad UTF-8, bad times, and random byte damage to valid
/// messages. Every message targets nodes named <c>fuzz-*</c>, so a damaged message that happens to stay valid only
/// touches those nodes' state, never the canaries a test watches. Shared by the test suite and the benchmark command.
/// </summary>
internal sealed class PayloadFuzzer(int seed, string site, DateTimeOffset day, int nodes = 8)
{
    private static readonly string[] Numbers = ["1e400", "-1e400", "1e999999", "NaN", "Infinity", "-Infinity", "123456789012345678901234567890", "1.7976931348623157e309", "0x10", "01", "+1", ".5", "1.", "-", "1e", "\"12\"", "true", "null", "[]", "{}"];

    private static readonly string[] Times = ["", "yesterday", "2026-13-45T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-07-01", "2026-07-01T25:00:00Z", "1782864000", "2026-07-01T00:00:00+99:00"];

    private readonly Random _random = new(seed);

    /// <summary>The nodes this generator writes about; a test announces them with a status first.</summary>
    public IEnumerable<string> Nodes => Enumerable.Range(0, nodes).Select(i => $"fuzz-{i}");

    public (string Topic, byte[] Payload) Next()
    {
        string node = $"fuzz-{_random.Next(nodes)}";
        int minute = _random.Next(1, 1000);
        string topic = Topics.Telemetry(site, node, "bme280", Quantities.Temperature);
        string valid = Valid(node, 20 + (_random.NextDouble() * 30), minute);
        switch (_random.Next(14))
        {
            case 0:
                return (topic, Encoding.UTF8.GetBytes(valid[.._random.Next(valid.Length)]));
            case 1:
                return (topic, Encoding.UTF8.GetBytes(ReplaceValue(valid, Pick(["mean", "min", "max", "count", "seq", "stddev", "expected", "errors"]), Pick(Numbers))));
            case 2:
                return (topic, Encoding.UTF8.GetBytes(ReplaceValue(valid, Pick(["site", "node", "unit", "quality", "flags", "backfill", "calibrated"]), Pick(["1", "[1]", "{\"a\":1}", "null", "true", "\"\""]))));
            case 3:
                int depth = _random.Next(9, 2000);
                return (topic, Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":[", depth)) + "1" + string.Concat(Enumerable.Repeat("]}", depth))));
            case 4:
                return (topic, Encoding.UTF8.GetBytes(ReplaceValue(valid, "unit", $"\"{new string('x', 60 * 1024)}\"")));
            case 5:
                return (topic, Encoding.UTF8.GetBytes(valid.Replace("sensorkit.telemetry.v1", Pick(["sensorkit.telemetry.v2", "sensorkit.status.v1", "", "SENSORKIT.TELEMETRY.V1"]), StringComparison.Ordinal)));
            case 6:
                string other = $"fuzz-{(_random.Next(nodes) + 1) % nodes}";
                return (Topics.Telemetry(site, other, "bme280", Pick([Quantities.Temperature, Quantities.Pressure])), Encoding.UTF8.GetBytes(valid));
            case 7:
                byte[] bytes = Encoding.UTF8.GetBytes(valid);
                bytes[_random.Next(bytes.Length)] = (byte)Pick([0xFF, 0xC3, 0xE2, 0x80, 0xF0, 0xC0, 0xED]);
                return (topic, bytes);
            case 8:
                return (topic, Encoding.UTF8.GetBytes(ReplaceValue(valid, Pick(["start", "end"]), $"\"{Pick(Times)}\"")));
            case 9:
                byte[] damaged = Encoding.UTF8.GetBytes(valid);
                for (int i = _random.Next(1, 8); i > 0; i--)
                {
                    damaged[_random.Next(damaged.Length)] = (byte)_random.Next(256);
                }

                return (topic, damaged);
            case 10:
                string state = Pick(["online", "LOST", "Offline", "1", ""]);
                string field = Pick(["\"location\":5", "\"outbox\":[]", "\"sensors\":[1]", "\"sensors\":[{}]", "\"location\":{\"lat\":1e400,\"lon\":0}", "\"outbox\":{\"queued\":\"x\"}", "\"firmware\":\"\\ud800\""]);
                return (Topics.Status(site, node), Encoding.UTF8.GetBytes(
                    $$"""{"schema":"sensorkit.status.v1","site":"{{site}}","node":"{{node}}","state":"{{state}}","time":"2026-07-01T00:00:00Z",""" + field + "}"));
            case 11:
                byte[] noise = new byte[_random.Next(0, 512)];
                _random.NextBytes(noise);
                return (topic, noise);
            case 12:
                return (topic, Encoding.UTF8.GetBytes(Pick(["{}", "[]", "null", "1", "\"\"", "{\"schema\":null}", "{\"schema\":\"sensorkit.telemetry.v1\"}", " "])));
            default:
                return (topic, Encoding.UTF8.GetBytes(ReplaceValue(valid, Pick(["mean", "min", "max"]), Pick(["1e308", "-1e308", "4.9e-324", "1e300"]))));
        }
    }

    public static string Valid(string site, string node, double mean, DateTimeOffset end, long seq)
    {
        string m = mean.ToString("R", CultureInfo.InvariantCulture);
        return $$"""{"schema":"sensorkit.telemetry.v1","site":"{{site}}","node":"{{node}}","sensor":"bme280","quantity":"temperature","unit":"Cel","seq":{{seq}},"start":"{{end.AddMinutes(-1):yyyy-MM-ddTHH:mm:ssZ}}","end":"{{end:yyyy-MM-ddTHH:mm:ssZ}}","count":6,"expected":6,"errors":0,"min":{{m}},"max":{{m}},"mean":{{m}},"stddev":0,"first":{{m}},"last":{{m}},"quality":"good","flags":[],"backfill":false}""";
    }

    public static string Status(string site, string node) =>
        $$$"""{"schema":"sensorkit.status.v1","site":"{{{site}}}","node":"{{{node}}}","state":"online","time":"2026-07-01T00:00:00Z","location":{"lat":50.94,"lon":6.96}}""";

    private string Valid(string node, double mean, int minute) => Valid(site, node, mean, day.AddMinutes(minute), minute);

    private T Pick<T>(T[] options) => options[_random.Next(options.Length)];

    /// <summary>Replaces the JSON value of one top-level field, whatever its type.</summary>
    private static string ReplaceValue(string json, string field, string value)
    {
        string key = $"\"{field}\":";
        int start = json.IndexOf(key, StringComparison.Ordinal) + key.Length;
        int end = start;
        int depth = 0;
        bool inString = false;
        for (; end < json.Length; end++)
        {
            char c = json[end];
            if (inString)
            {
                inString = c != '"';
                continue;
            }

            if (c == '"')
            {
                inString = true;
            }
            else if (c is '[' or '{')
            {
                depth++;
            }
            else if (c is ']' or '}')
            {
                if (depth-- == 0)
                {
                    break;
                }
            }
            else if (c == ',' && depth == 0)
            {
                break;
            }
        }

        return string.Concat(json.AsSpan(0, start), value, json.AsSpan(end));
    }
}
