using System.Net;
using Microsoft.Extensions.Options;

namespace SensorKit.Gateway.Http;

/// <summary>
/// Configuration section "CapFeed": the gateway's HTTP endpoint (<see cref="GatewayHttpHost"/>: where it listens,
/// who may reach it) and the CAP feed it serves (<see cref="Recent"/>, <see cref="MaxEntries"/>, <see cref="Title"/>).
/// The section keeps the name it had when the feed was the endpoint's only output, so configurations stay valid.
/// </summary>
public sealed class CapFeedOptions
{
    public const string Section = "CapFeed";

    public bool Enabled { get; set; } = true;

    /// <summary>Loopback by default; on any other address set <see cref="PublicBaseUrl"/> and <see cref="OperatorTokenFile"/>.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port (tests, the demo); the bound address is logged.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>How others reach the feed (e.g. behind a reverse proxy); links in the feed and CAP web links start with it.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// A file holding the token an operator's cancel must carry as <c>Authorization: Bearer …</c> (e.g. a systemd
    /// credential). Required when <see cref="Address"/> is not loopback; on loopback, when set, required too.
    /// </summary>
    public string? OperatorTokenFile { get; set; }

    /// <summary>Ended alerts stay in the feed this long after their last message.</summary>
    public TimeSpan Recent { get; set; } = TimeSpan.FromHours(24);

    public int MaxEntries { get; set; } = 200;

    public string Title { get; set; } = "SensorKit: Warnungen / alerts (CAP 1.2)";
}

public sealed class CapFeedOptionsValidator : IValidateOptions<CapFeedOptions>
{
    public ValidateOptionsResult Validate(string? name, CapFeedOptions o)
    {
        const string s = CapFeedOptions.Section;
        var errors = new List<string>();

        // Checked even with the feed off: CAP web links may point at a copy of the feed served elsewhere.
        if (o.PublicBaseUrl is { } url && (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https")))
        {
            errors.Add($"{s}:PublicBaseUrl: '{url}' is not an http(s) URL");
        }

        if (!o.Enabled)
        {
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }

        if (!IPAddress.TryParse(o.Address, out IPAddress? ip))
        {
            errors.Add($"{s}:Address: '{o.Address}' is not an IP address");
        }
        else if (!IPAddress.IsLoopback(ip))
        {
            if (o.PublicBaseUrl is null)
            {
                errors.Add($"{s}:PublicBaseUrl: the feed listens on {o.Address}; set the URL others reach it by, so its links work");
            }

            if (string.IsNullOrWhiteSpace(o.OperatorTokenFile))
            {
                errors.Add($"{s}:OperatorTokenFile: the feed listens on {o.Address}, which is reachable from the network, and anyone there could cancel alerts. " +
                    $"Set {s}:OperatorTokenFile to a file holding an operator token, or bind {s}:Address to 127.0.0.1");
            }
        }

        if (o.OperatorTokenFile is { } tokenFile && !string.IsNullOrWhiteSpace(tokenFile) && FeedAccess.ReadToken(tokenFile).Problem is { } problem)
        {
            errors.Add($"{s}:OperatorTokenFile: {problem}");
        }

        if (o.Port is < 0 or > 65535)
        {
            errors.Add($"{s}:Port: {o.Port} is outside 0-65535");
        }

        if (o.Recent <= TimeSpan.Zero)
        {
            errors.Add($"{s}:Recent: {o.Recent} must be positive");
        }

        if (o.MaxEntries is < 1 or > 10_000)
        {
            errors.Add($"{s}:MaxEntries: {o.MaxEntries} is outside 1-10000");
        }

        if (string.IsNullOrWhiteSpace(o.Title))
        {
            errors.Add($"{s}:Title: is empty");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
