using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>The checks every part of a rule shares; each error starts with the key it is about.</summary>
internal static class RuleChecks
{
    public static readonly string[] Severities = ["Extreme", "Severe", "Moderate", "Minor", "Unknown"];
    public static readonly string[] Certainties = ["Observed", "Likely", "Possible", "Unlikely", "Unknown"];
    public static readonly string[] Urgencies = ["Immediate", "Expected", "Future", "Past", "Unknown"];

    /// <summary>The one key set among <paramref name="options"/>; null (and an error) when none or several are.</summary>
    public static string? ExactlyOne(List<string> errors, string rule, params (string Key, double? Value)[] options)
    {
        var set = options.Where(o => o.Value is not null).ToArray();
        if (set.Length != 1)
        {
            errors.Add($"{rule}:{options[0].Key}: set exactly one of {string.Join(", ", options.Select(o => o.Key))}");
            return null;
        }

        if (!double.IsFinite(set[0].Value!.Value))
        {
            errors.Add($"{rule}:{set[0].Key}: must be a finite number");
            return null;
        }

        return set[0].Key;
    }

    public static void Amount(List<string> errors, string rule, string key, double value, bool allowZero)
    {
        if (!double.IsFinite(value) || value < 0 || (!allowZero && value == 0))
        {
            errors.Add($"{rule}:{key}: {value} must be {(allowZero ? "zero or positive" : "positive")}");
        }
    }

    public static void Percent(List<string> errors, string rule, string key, double value, bool drop)
    {
        if (!double.IsFinite(value) || value <= 0 || (drop && value >= 100))
        {
            errors.Add($"{rule}:{key}: {value} must be above 0{(drop ? " and below 100" : string.Empty)} (percent)");
        }
    }

    public static void Baseline(List<string> errors, string rule, TimeSpan baseline, TimeSpan minBaseline)
    {
        if (baseline <= TimeSpan.Zero)
        {
            errors.Add($"{rule}:Baseline: {baseline} must be positive, e.g. 06:00:00");
        }

        if (minBaseline < TimeSpan.Zero || minBaseline > baseline)
        {
            errors.Add($"{rule}:MinBaseline: {minBaseline} must lie between 0 and Baseline ({baseline})");
        }
    }

    public static void Filter(List<string> errors, string rule, string key, string value)
    {
        if (value != "*" && !Topics.IsValidLevel(value))
        {
            errors.Add($"{rule}:{key}: '{value}' must be '*' or an id (1-64 characters of a-z, A-Z, 0-9, '-' or '_')");
        }
    }

    public static void OneOf(List<string> errors, string rule, string key, string value, string[] allowed)
    {
        if (!allowed.Contains(value, StringComparer.Ordinal))
        {
            errors.Add($"{rule}:{key}: '{value}' is not one of {string.Join(", ", allowed)} (CAP 1.2 §3.2.2)");
        }
    }
}
