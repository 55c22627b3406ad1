using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;
using SensorKit.Protocol;

namespace SensorKit.Node.Pipeline;

/// <summary>
/// Builds a sensor's pipeline from configuration, and checks that configuration at start with
/// errors that name their key. Both use the same rules for which derived channels exist.
/// </summary>
public static class PipelineFactory
{
    /// <summary>Filter kinds as written in configuration (case-insensitive).</summary>
    public static IReadOnlyList<string> FilterKinds { get; } = ["range", "median", "moving-average", "exponential-average", "deadband", "calibration"];

    private const int MaxFilterSize = 1001;

    public static SensorPipeline Build(string sensorId, IReadOnlyList<ChannelSpec> specs, SensorOptions sensor, NodeOptions node)
    {
        var all = new List<ChannelPipeline>();
        var measured = new List<ChannelPipeline>();
        foreach (ChannelSpec spec in specs)
        {
            ChannelPipeline c = CreateChannel(sensorId, spec.Quantity, spec.Unit, spec.RangeMin, spec.RangeMax, sensor, node);
            measured.Add(c);
            all.Add(c);
        }

        var derived = new List<(DerivedQuantity, ChannelPipeline)>();
        foreach (DerivedSpec d in DerivedChannels(specs, sensor, node))
        {
            ChannelPipeline input(string quantity) => all.First(c => c.Id.Quantity == quantity);
            DerivedQuantity quantity = d.Quantity switch
            {
                Quantities.DewPoint => new FormulaQuantity(d.Quantity, d.Unit, input(Quantities.Temperature), input(Quantities.Humidity), Meteorology.DewPoint),
                Quantities.AbsoluteHumidity => new FormulaQuantity(d.Quantity, d.Unit, input(Quantities.Temperature), input(Quantities.Humidity), Meteorology.AbsoluteHumidity),
                Quantities.HeatIndex => new FormulaQuantity(d.Quantity, d.Unit, input(Quantities.Temperature), input(Quantities.Humidity), Meteorology.HeatIndex),
                Quantities.SeaLevelPressure => SeaLevel(d, all, node.Location.Altitude!.Value),
                Quantities.PressureTendency3h => new PressureTendencyQuantity(input(Quantities.Pressure), sensor.Interval),
                Quantities.WaterLevel => WaterLevel(d, input(Quantities.Distance), sensor.MountingHeight!.Value),
                _ => new RateQuantity(input(d.RateOf!), new SlidingTrend(Options(sensor, d.RateOf!)!.Rate!.Value, sensor.Interval)),
            };
            ChannelPipeline channel = CreateChannel(sensorId, d.Quantity, d.Unit, double.NegativeInfinity, double.PositiveInfinity, sensor, node);
            derived.Add((quantity, channel));
            all.Add(channel);
        }

        return new SensorPipeline(measured, derived);
    }

    /// <summary>Every channel the sensor would publish with this configuration, measured first.</summary>
    public static IReadOnlyList<(string Quantity, string Unit)> ChannelNames(IReadOnlyList<ChannelSpec> specs, SensorOptions sensor, NodeOptions node) =>
        specs.Select(s => (s.Quantity, s.Unit)).Concat(DerivedChannels(specs, sensor, node).Select(d => (d.Quantity, d.Unit))).ToArray();

    /// <summary>Checks the pipeline keys of one sensor; every error starts with the key it is about.</summary>
    public static IEnumerable<string> Validate(IReadOnlyList<ChannelSpec> specs, SensorOptions sensor, NodeOptions node, string key)
    {
        var errors = new List<string>();
        if (sensor.MountingHeight is { } height)
        {
            if (!double.IsFinite(height) || height <= 0)
            {
                errors.Add($"{key}:MountingHeight: {height} must be a positive number of metres");
            }
            else if (!specs.Any(s => s.Quantity == Quantities.Distance))
            {
                errors.Add($"{key}:MountingHeight: this sensor measures no distance, so there is no water level to derive");
            }
        }

        if (errors.Count > 0 || sensor.Interval <= TimeSpan.Zero)
        {
            return errors;
        }

        IReadOnlyList<(string Quantity, string Unit)> channels = ChannelNames(specs, sensor, node);
        foreach ((string name, ChannelOptions channel) in sensor.Channels)
        {
            string ck = $"{key}:Channels:{name}";
            if (!channels.Any(c => string.Equals(c.Quantity, name, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"{ck}: the sensor has no channel '{name}' (it has: {string.Join(", ", channels.Select(c => c.Quantity))})");
                continue;
            }

            ValidateChannel(errors, ck, name, channel, sensor, key);
        }

        return errors;
    }

    private static void ValidateChannel(List<string> errors, string ck, string name, ChannelOptions channel, SensorOptions sensor, string key)
    {
        if (channel is null)
        {
            return;
        }

        if (channel.Window is { } window)
        {
            if (window <= TimeSpan.Zero)
            {
                errors.Add($"{ck}:Window: {window} must be positive");
            }
            else if (window < sensor.Interval)
            {
                errors.Add($"{ck}:Window: {window} is shorter than {key}:Interval {sensor.Interval}; a window would hold no sample");
            }
        }

        if (channel.StuckAfter is < 0 or 1)
        {
            errors.Add($"{ck}:StuckAfter: {channel.StuckAfter} must be 0 (off) or at least 2 readings");
        }

        if (channel.StaleAfter is { } stale && stale < sensor.Interval)
        {
            errors.Add($"{ck}:StaleAfter: {stale} is shorter than {key}:Interval {sensor.Interval}; every window would be stale");
        }

        if (channel.Rate is { } rate)
        {
            if (name.EndsWith(Quantities.RateSuffix, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{ck}:Rate: a rate channel has no rate of its own");
            }
            else if (rate < sensor.Interval * 2)
            {
                errors.Add($"{ck}:Rate: {rate} must span at least two sample intervals ({key}:Interval {sensor.Interval}) to give a slope");
            }
        }

        for (int j = 0; j < channel.Filters.Count; j++)
        {
            ValidateFilter(errors, $"{ck}:Filters:{j}", channel.Filters[j]);
        }
    }

    private static void ValidateFilter(List<string> errors, string fk, FilterOptions f)
    {
        string kind = (f.Kind ?? string.Empty).Trim().ToLowerInvariant();
        var used = new List<string>();
        switch (kind)
        {
            case "range":
                used.AddRange(["Min", "Max", "Clamp"]);
                if (f.Min is not { } min || !double.IsFinite(min))
                {
                    errors.Add($"{fk}:Min: a range filter needs a finite Min");
                }
                else if (f.Max is not { } max || !double.IsFinite(max))
                {
                    errors.Add($"{fk}:Max: a range filter needs a finite Max");
                }
                else if (!(min < max))
                {
                    errors.Add($"{fk}:Max: {max} must be above Min {min}");
                }

                break;
            case "median":
                used.Add("Size");
                if (f.Size is not { } n || n < 3 || n % 2 == 0 || n > MaxFilterSize)
                {
                    errors.Add($"{fk}:Size: {Show(f.Size)} must be an odd number from 3 to {MaxFilterSize}; a median of an even count has no middle value");
                }

                break;
            case "moving-average":
                used.Add("Size");
                if (f.Size is not { } m || m < 2 || m > MaxFilterSize)
                {
                    errors.Add($"{fk}:Size: {Show(f.Size)} must be from 2 to {MaxFilterSize}");
                }

                break;
            case "exponential-average":
                used.Add("Alpha");
                if (f.Alpha is not { } a || !(a > 0 && a <= 1))
                {
                    errors.Add($"{fk}:Alpha: {Show(f.Alpha)} must be in (0, 1]");
                }

                break;
            case "deadband":
                used.Add("Delta");
                if (f.Delta is not { } d || !(d > 0) || !double.IsFinite(d))
                {
                    errors.Add($"{fk}:Delta: {Show(f.Delta)} must be a positive number");
                }

                break;
            case "calibration":
                used.AddRange(["Offset", "Scale"]);
                if (f.Offset is null && f.Scale is null)
                {
                    errors.Add($"{fk}:Offset: a calibration needs an Offset, a Scale, or both");
                }

                if (f.Scale is { } scale && (!double.IsFinite(scale) || scale == 0))
                {
                    errors.Add($"{fk}:Scale: {scale} must be a finite, non-zero number");
                }

                if (f.Offset is { } offset && !double.IsFinite(offset))
                {
                    errors.Add($"{fk}:Offset: {offset} must be finite");
                }

                break;
            default:
                errors.Add($"{fk}:Kind: unknown filter kind '{f.Kind}' (known: {string.Join(", ", FilterKinds)})");
                return;
        }

        // A key the kind does not read is a typo or a misunderstanding; say so rather than ignore it.
        (string Name, bool Set)[] parameters =
        [
            ("Min", f.Min is not null), ("Max", f.Max is not null), ("Clamp", f.Clamp is not null), ("Size", f.Size is not null),
            ("Alpha", f.Alpha is not null), ("Delta", f.Delta is not null), ("Offset", f.Offset is not null), ("Scale", f.Scale is not null),
        ];
        foreach ((string name, bool set) in parameters)
        {
            if (set && !used.Contains(name))
            {
                errors.Add($"{fk}:{name}: a {kind} filter has no {name}");
            }
        }
    }

    private static string Show<T>(T? value)
        where T : struct => value?.ToString() ?? "(missing)";

    private static SampleFilter CreateFilter(FilterOptions f) => f.Kind.Trim().ToLowerInvariant() switch
    {
        "range" => new RangeFilter(f.Min!.Value, f.Max!.Value, f.Clamp ?? false),
        "median" => new MedianFilter(f.Size!.Value),
        "moving-average" => new MovingAverageFilter(f.Size!.Value),
        "exponential-average" => new ExponentialAverageFilter(f.Alpha!.Value),
        "deadband" => new DeadbandFilter(f.Delta!.Value),
        "calibration" => new CalibrationFilter(f.Scale ?? 1, f.Offset ?? 0),
        _ => throw new ConfigurationException($"unknown filter kind '{f.Kind}'"),
    };

    private static ChannelOptions? Options(SensorOptions sensor, string quantity) =>
        sensor.Channels.TryGetValue(quantity, out ChannelOptions? o) ? o : null;

    private static ChannelPipeline CreateChannel(string sensorId, string quantity, string unit, double rangeMin, double rangeMax, SensorOptions sensor, NodeOptions node)
    {
        ChannelOptions? o = Options(sensor, quantity);
        var filters = new FilterChain((o?.Filters ?? []).Select(CreateFilter));
        var aggregator = new WindowAggregator(o?.Window ?? node.Window, sensor.Interval, staleAfter: o?.StaleAfter)
        {
            Calibrated = filters.Calibrated,
            Filtered = filters.Length > 0,
        };
        return new ChannelPipeline(new ChannelId(sensorId, quantity, unit), aggregator, filters, rangeMin, rangeMax, o?.StuckAfter ?? 0, sensor.Interval)
        {
            Publish = o?.Enabled ?? true,
        };
    }

    private static FormulaQuantity SeaLevel(DerivedSpec d, List<ChannelPipeline> all, double altitude)
    {
        ChannelPipeline pressure = all.First(c => c.Id.Quantity == Quantities.Pressure);
        ChannelPipeline? temperature = all.FirstOrDefault(c => c.Id.Quantity == Quantities.Temperature && c.Id.Unit == Units.Celsius);
        if (temperature is null)
        {
            // No thermometer on this sensor: the standard atmosphere's temperature at the station.
            double standard = Meteorology.StandardTemperature(altitude);
            return new FormulaQuantity(d.Quantity, d.Unit, pressure, null, (p, _) => Meteorology.SeaLevelPressure(p, altitude, standard));
        }

        return new FormulaQuantity(d.Quantity, d.Unit, pressure, temperature, (p, t) => Meteorology.SeaLevelPressure(p, altitude, t));
    }

    private static FormulaQuantity WaterLevel(DerivedSpec d, ChannelPipeline distance, double mountingHeight) =>
        new(d.Quantity, d.Unit, distance, null, (m, _) => Meteorology.WaterLevel(mountingHeight, m));

    private sealed record DerivedSpec(string Quantity, string Unit, string? RateOf = null);

    /// <summary>The derived channels whose inputs this sensor has, in computation order (inputs before the channels using them).</summary>
    private static List<DerivedSpec> DerivedChannels(IReadOnlyList<ChannelSpec> specs, SensorOptions sensor, NodeOptions node)
    {
        bool Has(string quantity, string unit) => specs.Any(s => s.Quantity == quantity && s.Unit == unit);
        var derived = new List<DerivedSpec>();
        if (Has(Quantities.Temperature, Units.Celsius) && Has(Quantities.Humidity, Units.RelativeHumidityPercent))
        {
            derived.Add(new(Quantities.DewPoint, Units.Celsius));
            derived.Add(new(Quantities.AbsoluteHumidity, Units.GramPerCubicMetre));
            derived.Add(new(Quantities.HeatIndex, Units.Celsius));
        }

        if (Has(Quantities.Pressure, Units.Pascal))
        {
            if (node.Location.Altitude is { } altitude && double.IsFinite(altitude))
            {
                derived.Add(new(Quantities.SeaLevelPressure, Units.Pascal));
            }

            derived.Add(new(Quantities.PressureTendency3h, Units.Pascal));
        }

        if (Has(Quantities.Distance, Units.Metre) && sensor.MountingHeight is not null && !specs.Any(s => s.Quantity == Quantities.WaterLevel))
        {
            derived.Add(new(Quantities.WaterLevel, Units.Metre));
        }

        var rates = new List<DerivedSpec>();
        foreach ((string quantity, string unit) in specs.Select(s => (s.Quantity, s.Unit)).Concat(derived.Select(d => (d.Quantity, d.Unit))))
        {
            if (Options(sensor, quantity)?.Rate is not null)
            {
                rates.Add(new(quantity + Quantities.RateSuffix, unit + "/h", quantity));
            }
        }

        derived.AddRange(rates);
        return derived;
    }
}
