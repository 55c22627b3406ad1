using System.Globalization;

namespace SensorKit.Demo;

/// <summary>Command-line options of the quick-start demo.</summary>
public sealed record DemoOptions
{
    /// <summary>Run this long, then stop; null runs until Ctrl+C.</summary>
    public TimeSpan? Duration { get; init; }

    public int Port { get; init; } = 1883;

    /// <summary>Port of the CAP feed on 127.0.0.1; 0 picks a free one.</summary>
    public int FeedPort { get; init; }

    /// <summary>Scenario seconds per real second.</summary>
    public double Speed { get; init; } = 720;

    /// <summary>Aggregation window of the simulated nodes.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(1);

    public const string Usage = """
        sensorkit-demo: a gateway with its embedded MQTT broker plus simulated sensor nodes.
        options:
          --duration 90s   stop after this long (s, m, h, or hh:mm:ss); default: until Ctrl+C
          --port 1883      embedded broker port on 127.0.0.1
          --feed-port 0    CAP feed port on 127.0.0.1 (0: any free port, printed at start)
          --speed 720      scenario seconds per real second
          --window 5s      aggregation window of the nodes
        """;

    public static DemoOptions Parse(string[] args)
    {
        var o = new DemoOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            o = name switch
            {
                "--duration" => o with { Duration = ParseDuration(name, Value()) },
                "--port" => o with { Port = int.TryParse(Value(), CultureInfo.InvariantCulture, out int p) && p is > 0 and < 65536 ? p : throw new ArgumentException($"{name}: expected a port number 1-65535") },
                "--feed-port" => o with { FeedPort = int.TryParse(Value(), CultureInfo.InvariantCulture, out int f) && f is >= 0 and < 65536 ? f : throw new ArgumentException($"{name}: expected a port number 0-65535") },
                "--speed" => o with { Speed = double.TryParse(Value(), CultureInfo.InvariantCulture, out double s) && s > 0 ? s : throw new ArgumentException($"{name}: expected a positive number") },
                "--window" => o with { Window = ParseDuration(name, Value()) },
                _ => throw new ArgumentException($"unknown option '{name}'"),
            };
        }

        return o;
    }

    /// <summary>Accepts 90s, 2m, 1h, 500ms or a TimeSpan such as 00:01:30.</summary>
    public static TimeSpan ParseDuration(string option, string text)
    {
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ when text.EndsWith('h') => (text[..^1], 3600.0),
            _ => (string.Empty, 0.0),
        };
        if (scale > 0 && double.TryParse(number, CultureInfo.InvariantCulture, out double n) && n > 0)
        {
            return TimeSpan.FromSeconds(n * scale);
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out TimeSpan t) && t > TimeSpan.Zero)
        {
            return t;
        }

        throw new ArgumentException($"{option}: '{text}' is not a duration like 90s, 2m or 00:01:30");
    }
}
