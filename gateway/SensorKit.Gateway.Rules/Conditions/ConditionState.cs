using System.Text.Json;
using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Rules;

/// <summary>
/// The state of one condition on one channel (node, sensor, quantity): the measure's history where it needs one,
/// and one hysteresis-and-hold state machine per level. Time is the telemetry's window end throughout.
/// </summary>
internal sealed class ConditionState : IPersistentState
{
    private readonly ThresholdState[] _levels;
    private readonly SampleWindow? _samples;

    public ConditionState(ConditionSpec spec)
    {
        Spec = spec;
        _levels = new ThresholdState[spec.Thresholds.Length];
        for (int i = 0; i < _levels.Length; i++)
        {
            _levels[i] = new ThresholdState(spec.Thresholds[i], spec.Hysteresis, spec.Hold, spec.Above, spec.MinWindows);
        }

        if (spec.Kind.KeepsHistory)
        {
            _samples = new SampleWindow();
        }
    }

    public ConditionSpec Spec { get; }

    /// <summary>Where the state store keeps this state: rule, site, condition, node, sensor and quantity.</summary>
    public string StateKey { get; init; } = string.Empty;

    public string Site { get; init; } = string.Empty;

    /// <summary>0 when the condition does not hold, else the highest level that does.</summary>
    public int Level { get; private set; }

    /// <summary>The last window mean.</summary>
    public double Value { get; private set; } = double.NaN;

    /// <summary>The last measure compared with the thresholds (NaN while a baseline is still too short).</summary>
    public double Measured { get; private set; } = double.NaN;

    public string Unit { get; private set; } = string.Empty;

    public DateTimeOffset Time { get; private set; }

    /// <summary>Takes one window mean; true when <see cref="Level"/> changed.</summary>
    public bool Evaluate(double value, DateTimeOffset time, string unit)
    {
        if (!double.IsFinite(value))
        {
            // Ingest refuses non-finite numbers; this keeps them out of the history even if a caller does not.
            return false;
        }

        Value = value;
        Time = time;
        Unit = unit;
        Measured = Spec.Kind.Measure(Spec, _samples, value, time, Level);
        int level = 0;
        for (int i = 0; i < _levels.Length; i++)
        {
            _levels[i].Evaluate(Measured, time);
            if (_levels[i].Active)
            {
                level = i + 1;
            }
        }

        Spec.Kind.Evaluated(Spec, _samples, value, Measured, time, level);

        bool changed = level != Level;
        Level = level;
        return changed;
    }

    /// <summary>
    /// Takes over what a backlog's state found, where this (live) state does not know it yet: a raised level, or a
    /// hold that began earlier in the backlog. The live state's own history stays; the backlog's ends here.
    /// </summary>
    public void TakeOver(ConditionState backlog)
    {
        for (int i = 0; i < _levels.Length; i++)
        {
            ThresholdState mine = _levels[i];
            ThresholdState theirs = backlog._levels[i];
            bool stillBeyond = double.IsFinite(Measured) && Spec.IsBeyond(Measured, i);
            if (!mine.Active && theirs.Active && stillBeyond)
            {
                mine.Restore(true, theirs.RaisedAt, null);
            }
            else if (!mine.Active && !theirs.Active && theirs.PendingSince is { } since && stillBeyond && (mine.PendingSince is null || since < mine.PendingSince))
            {
                mine.Restore(false, null, since, theirs.WindowsBeyond + mine.WindowsBeyond);
            }
        }

        int level = 0;
        for (int i = 0; i < _levels.Length; i++)
        {
            level = _levels[i].Active ? i + 1 : level;
        }

        Level = level;
    }

    /// <summary>Writes the state for the gateway's state store: levels with their pending hold, and the sample history.</summary>
    public void WriteSnapshot(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("time"u8, Time.ToUnixTimeMilliseconds());
        w.WriteNumber("level"u8, Level);
        w.WriteString("unit"u8, Unit);
        WriteDouble(w, "value"u8, Value);
        WriteDouble(w, "measured"u8, Measured);
        w.WriteStartArray("levels"u8);
        foreach (ThresholdState s in _levels)
        {
            w.WriteStartArray();
            w.WriteBooleanValue(s.Active);
            w.WriteNumberValue(s.RaisedAt?.ToUnixTimeMilliseconds() ?? -1);
            w.WriteNumberValue(s.PendingSince?.ToUnixTimeMilliseconds() ?? -1);
            w.WriteNumberValue(s.WindowsBeyond);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        w.WriteStartArray("samples"u8);
        if (_samples is not null)
        {
            foreach ((long ticks, double v) in _samples.Samples())
            {
                w.WriteNumberValue(new DateTimeOffset(ticks, TimeSpan.Zero).ToUnixTimeMilliseconds());
                w.WriteNumberValue(v);
            }
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Restores a snapshot; one written for a different number of levels (the rule changed) is ignored.</summary>
    public bool Restore(JsonElement e)
    {
        JsonElement levels = e.GetProperty("levels");
        if (levels.GetArrayLength() != _levels.Length)
        {
            return false;
        }

        int i = 0;
        foreach (JsonElement l in levels.EnumerateArray())
        {
            bool active = l[0].GetBoolean();
            long raised = l[1].GetInt64();
            long pending = l[2].GetInt64();
            int beyond = l.GetArrayLength() > 3 ? l[3].GetInt32() : 0;
            _levels[i++].Restore(active, raised < 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(raised), pending < 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(pending), beyond);
        }

        Time = DateTimeOffset.FromUnixTimeMilliseconds(e.GetProperty("time").GetInt64());
        Level = e.GetProperty("level").GetInt32();
        Unit = e.GetProperty("unit").GetString() ?? string.Empty;
        Value = ReadDouble(e, "value");
        Measured = ReadDouble(e, "measured");
        if (_samples is not null)
        {
            _samples.Clear();
            JsonElement samples = e.GetProperty("samples");
            for (int k = 0; k + 1 < samples.GetArrayLength(); k += 2)
            {
                _samples.Add(DateTimeOffset.FromUnixTimeMilliseconds(samples[k].GetInt64()), samples[k + 1].GetDouble());
            }
        }

        return true;
    }

    private static void WriteDouble(Utf8JsonWriter w, ReadOnlySpan<byte> name, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static double ReadDouble(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
}
