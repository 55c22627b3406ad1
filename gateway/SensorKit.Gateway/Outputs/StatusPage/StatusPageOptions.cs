using Microsoft.Extensions.Options;
using SensorKit.Gateway.Alerts.Feed;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>Configuration section "StatusPage": the public status page under /status (docs/status-page.md).</summary>
public sealed class StatusPageOptions
{
    public const string Section = "StatusPage";

    public bool Enabled { get; set; } = true;

    /// <summary>"de" or "en": the language when Accept-Language names neither.</summary>
    public string DefaultLanguage { get; set; } = "de";

    /// <summary>The radius of "warnings for my place" when the visitor gives none.</summary>
    public double DefaultRadiusKm { get; set; } = 5;

    /// <summary>How far back the alert history goes.</summary>
    public TimeSpan HistoryRange { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Longest the alert history lists.</summary>
    public int HistoryEntries { get; set; } = 100;

    /// <summary>Points per plot: the last 24 hours are averaged into this many buckets.</summary>
    public int PlotPoints { get; set; } = 144;

    /// <summary>Open live-update streams at once; more are refused with 503.</summary>
    public int MaxLiveClients { get; set; } = 64;

    /// <summary>How often a live page is told that new measurements arrived (alerts are sent at once).</summary>
    public TimeSpan TelemetryInterval { get; set; } = TimeSpan.FromSeconds(5);
}

public sealed class StatusPageOptionsValidator : IValidateOptions<StatusPageOptions>
{
    public ValidateOptionsResult Validate(string? name, StatusPageOptions o)
    {
        const string s = StatusPageOptions.Section;
        var errors = new List<string>();
        if (o.DefaultLanguage is not ("de" or "en"))
        {
            errors.Add($"{s}:DefaultLanguage: '{o.DefaultLanguage}' is not de or en");
        }

        if (!double.IsFinite(o.DefaultRadiusKm) || o.DefaultRadiusKm < PlaceQuery.MinRadiusKm || o.DefaultRadiusKm > PlaceQuery.MaxRadiusKm)
        {
            errors.Add($"{s}:DefaultRadiusKm: {o.DefaultRadiusKm} must be between {PlaceQuery.MinRadiusKm} and {PlaceQuery.MaxRadiusKm}");
        }

        if (o.HistoryRange < TimeSpan.FromHours(1) || o.HistoryRange > TimeSpan.FromDays(366))
        {
            errors.Add($"{s}:HistoryRange: {o.HistoryRange} must be between an hour and a year");
        }

        void Range(string key, int value, int min, int max)
        {
            if (value < min || value > max)
            {
                errors.Add($"{s}:{key}: {value} must be between {min} and {max}");
            }
        }

        Range(nameof(o.HistoryEntries), o.HistoryEntries, 1, 1000);
        Range(nameof(o.PlotPoints), o.PlotPoints, 12, 1440);
        Range(nameof(o.MaxLiveClients), o.MaxLiveClients, 0, 10_000);
        if (o.TelemetryInterval < TimeSpan.FromSeconds(1) || o.TelemetryInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"{s}:TelemetryInterval: {o.TelemetryInterval} must be between a second and an hour");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
