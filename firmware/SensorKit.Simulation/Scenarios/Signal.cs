namespace SensorKit.Simulation.Scenarios;

/// <summary>A physical signal over scenario time: piecewise segments plus reproducible noise.</summary>
public sealed class Signal
{
    private readonly Segment[] _segments;
    private readonly double _noiseStdDev;
    private readonly int _seed;

    private Signal(string node, string sensor, string quantity, Segment[] segments, double noiseStdDev, int seed)
    {
        Node = node;
        Sensor = sensor;
        Quantity = quantity;
        _segments = segments;
        _noiseStdDev = noiseStdDev;
        _seed = seed;
    }

    public string Node { get; }
    public string Sensor { get; }
    public string Quantity { get; }

    internal static Signal From(SignalDocument d, string path)
    {
        if (string.IsNullOrWhiteSpace(d.Quantity))
        {
            throw new ScenarioException($"{path}.quantity: is missing");
        }

        if (d.Segments.Count == 0)
        {
            throw new ScenarioException($"{path}.segments: at least one segment is needed");
        }

        var segments = new Segment[d.Segments.Count];
        for (int i = 0; i < segments.Length; i++)
        {
            segments[i] = Segment.From(d.Segments[i], $"{path}.segments[{i}]");
            if (i > 0 && segments[i].At < segments[i - 1].At)
            {
                throw new ScenarioException($"{path}.segments[{i}].at: {segments[i].At} is before the previous segment's {segments[i - 1].At}; list segments in time order");
            }
        }

        if (d.Noise is { StdDev: < 0 })
        {
            throw new ScenarioException($"{path}.noise.stdDev: must not be negative");
        }

        return new Signal(d.Node, d.Sensor, d.Quantity, segments, d.Noise?.StdDev ?? 0, d.Noise?.Seed ?? 0);
    }

    internal bool Matches(string node, string sensorId, string sensorType) =>
        (Node == "*" || Node == node) && (Sensor == "*" || Sensor == sensorId || Sensor == sensorType);

    /// <summary>The value at scenario time <paramref name="t"/>: the last segment that has started decides.</summary>
    public double At(TimeSpan t)
    {
        int index = 0;
        for (int i = 0; i < _segments.Length; i++)
        {
            if (_segments[i].At <= t)
            {
                index = i;
            }
        }

        double previousEnd = index > 0 ? _segments[index - 1].EndValue() : double.NaN;
        return _segments[index].ValueAt(t, previousEnd) + Noise(t);
    }

    /// <summary>Gaussian noise that depends only on the seed and the time, so a replay gives the same values.</summary>
    private double Noise(TimeSpan t)
    {
        if (_noiseStdDev == 0)
        {
            return 0;
        }

        ulong h = Mix((ulong)t.Ticks ^ ((ulong)(uint)_seed << 32));
        double u1 = ((h >> 11) + 1.0) / 9007199254740993.0;
        double u2 = (Mix(h) >> 11) / 9007199254740992.0;
        // Box-Muller transform.
        return _noiseStdDev * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    // SplitMix64 finaliser: a cheap, well-distributed hash of the time stamp.
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private sealed record Segment(string Kind, TimeSpan At, TimeSpan? Duration, double? Value, double? To, double Mean, double Amplitude, TimeSpan Period, TimeSpan PeakAt)
    {
        public static Segment From(SegmentDocument d, string path)
        {
            string kind = d.Kind ?? throw new ScenarioException($"{path}.kind: is missing (constant, ramp, step or sine)");
            switch (kind)
            {
                case "constant":
                    Require(d.Value, path, "value");
                    break;
                case "ramp":
                    Require(d.To, path, "to");
                    if (d.Duration is not { } dur || dur <= TimeSpan.Zero)
                    {
                        throw new ScenarioException($"{path}.duration: a ramp needs a positive duration");
                    }

                    break;
                case "step":
                    Require(d.To, path, "to");
                    break;
                case "sine":
                    Require(d.Mean, path, "mean");
                    Require(d.Amplitude, path, "amplitude");
                    if (d.Period is not { } p || p <= TimeSpan.Zero)
                    {
                        throw new ScenarioException($"{path}.period: a sine needs a positive period");
                    }

                    break;
                default:
                    throw new ScenarioException($"{path}.kind: '{kind}' is not one of constant, ramp, step, sine");
            }

            return new Segment(kind, d.At, d.Duration, d.Value, d.To, d.Mean ?? 0, d.Amplitude ?? 0, d.Period ?? TimeSpan.FromDays(1), d.PeakAt ?? TimeSpan.Zero);
        }

        private static void Require(double? value, string path, string field)
        {
            if (value is not { } v || !double.IsFinite(v))
            {
                throw new ScenarioException($"{path}.{field}: a finite number is required");
            }
        }

        public double ValueAt(TimeSpan t, double previousEnd)
        {
            double start = Value ?? previousEnd;
            switch (Kind)
            {
                case "constant":
                    return Value!.Value;
                case "step":
                    return To!.Value;
                case "ramp":
                    double f = Math.Clamp((t - At) / Duration!.Value, 0, 1);
                    return double.IsNaN(start) ? To!.Value : start + ((To!.Value - start) * f);
                default:
                    return Mean + (Amplitude * Math.Cos(2 * Math.PI * (t - PeakAt).TotalSeconds / Period.TotalSeconds));
            }
        }

        public double EndValue() => Kind switch
        {
            "constant" => Value!.Value,
            "ramp" or "step" => To!.Value,
            _ => Mean + (Amplitude * Math.Cos(2 * Math.PI * (At + (Duration ?? TimeSpan.Zero) - PeakAt).TotalSeconds / Period.TotalSeconds)),
        };
    }
}
