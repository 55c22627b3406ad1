using Microsoft.Extensions.Options;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Rules;

/// <summary>Configuration section "Rules" (docs/rules.md).</summary>
public sealed class RulesOptions
{
    public const string Section = "Rules";

    public List<ThresholdRuleOptions> Threshold { get; set; } = [];
}

/// <summary>
/// Raises when the value stays beyond <see cref="Above"/> (or below <see cref="Below"/>) for
/// <see cref="Hold"/>, and clears when it stays back inside the threshold minus
/// <see cref="Hysteresis"/> for <see cref="Hold"/>.
/// </summary>
public sealed class ThresholdRuleOptions
{
    public string Id { get; set; } = string.Empty;
    public string Quantity { get; set; } = string.Empty;

    /// <summary>A sensor id to limit the rule to, or "*".</summary>
    public string Sensor { get; set; } = "*";

    /// <summary>A site to limit the rule to, or "*".</summary>
    public string Site { get; set; } = "*";

    public double? Above { get; set; }
    public double? Below { get; set; }
    public double Hysteresis { get; set; }
    public TimeSpan Hold { get; set; } = TimeSpan.Zero;

    /// <summary>CAP 1.2 §3.2.2 values: Extreme, Severe, Moderate, Minor, Unknown.</summary>
    public string Severity { get; set; } = "Moderate";

    /// <summary>CAP: Observed, Likely, Possible, Unlikely, Unknown.</summary>
    public string Certainty { get; set; } = "Observed";

    /// <summary>CAP: Immediate, Expected, Future, Past, Unknown.</summary>
    public string Urgency { get; set; } = "Immediate";

    public string Headline { get; set; } = string.Empty;

    public AlertAudience Audience { get; set; } = AlertAudience.Public;

    public double Threshold => Above ?? Below ?? double.NaN;
}

public sealed class RulesOptionsValidator : IValidateOptions<RulesOptions>
{
    private static readonly string[] Severities = ["Extreme", "Severe", "Moderate", "Minor", "Unknown"];
    private static readonly string[] Certainties = ["Observed", "Likely", "Possible", "Unlikely", "Unknown"];
    private static readonly string[] Urgencies = ["Immediate", "Expected", "Future", "Past", "Unknown"];

    public ValidateOptionsResult Validate(string? name, RulesOptions o)
    {
        var errors = new List<string>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.Threshold.Count; i++)
        {
            ThresholdRuleOptions r = o.Threshold[i];
            string key = $"{RulesOptions.Section}:Threshold:{i}";
            string rule = string.IsNullOrEmpty(r.Id) ? key : $"{key} (rule '{r.Id}')";
            if (!Topics.IsValidLevel(r.Id))
            {
                errors.Add($"{rule}:Id: '{r.Id}' must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_'");
            }
            else if (!ids.Add(r.Id))
            {
                errors.Add($"{rule}:Id: used by another rule");
            }

            if (string.IsNullOrWhiteSpace(r.Quantity))
            {
                errors.Add($"{rule}:Quantity: is missing");
            }

            if (r.Above is null == r.Below is null)
            {
                errors.Add($"{rule}:Above: set exactly one of Above or Below");
            }
            else if (!double.IsFinite(r.Threshold))
            {
                errors.Add($"{rule}:{(r.Above is null ? "Below" : "Above")}: must be a finite number");
            }

            if (!(r.Hysteresis >= 0) || !double.IsFinite(r.Hysteresis))
            {
                errors.Add($"{rule}:Hysteresis: {r.Hysteresis} must be zero or positive");
            }

            if (r.Hold < TimeSpan.Zero)
            {
                errors.Add($"{rule}:Hold: {r.Hold} must not be negative");
            }

            Check(errors, rule, "Severity", r.Severity, Severities);
            Check(errors, rule, "Certainty", r.Certainty, Certainties);
            Check(errors, rule, "Urgency", r.Urgency, Urgencies);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Check(List<string> errors, string rule, string key, string value, string[] allowed)
    {
        if (!allowed.Contains(value, StringComparer.Ordinal))
        {
            errors.Add($"{rule}:{key}: '{value}' is not one of {string.Join(", ", allowed)} (CAP 1.2 §3.2.2)");
        }
    }
}
