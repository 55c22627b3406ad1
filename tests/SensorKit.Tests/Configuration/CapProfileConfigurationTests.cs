using SensorKit.Gateway;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>
/// Cap:Contact, Cap:Web, Cap:Expires, Cap:ExpiresEnded, Cap:RefreshBefore, CapFeed:PublicBaseUrl and a rule's
/// Expires are checked at start: exit code 2 and one line naming the key.
/// </summary>
public sealed class CapProfileConfigurationTests
{
    public static TheoryData<string, string?, string?> Settings => new()
    {
        { "Cap:Contact", "Leitstelle Köln, +49 221 000000, leitstelle@example.org", null },
        { "Cap:Contact", " ", "invalid configuration: Cap:Contact: must be 1-200 characters on one line" },
        { "Cap:Contact", new string('x', 201), "invalid configuration: Cap:Contact: must be 1-200 characters on one line" },
        { "Cap:Contact", "Leitstelle\nKöln", "invalid configuration: Cap:Contact: must be 1-200 characters on one line" },
        { "Cap:Web", "https://warnung.example.org/alerts/{alertId}", null },
        { "Cap:Web", "/alerts/{alertId}", "invalid configuration: Cap:Web: '/alerts/{alertId}' is not an absolute http(s) URL" },
        { "Cap:Web", "https://warnung.example.org/alerts/{alertid}", "invalid configuration: Cap:Web: 'https://warnung.example.org/alerts/{alertid}' is not an absolute http(s) URL" },
        { "Cap:Web", "ftp://warnung.example.org/", "invalid configuration: Cap:Web: 'ftp://warnung.example.org/' is not an absolute http(s) URL" },
        { "Cap:Expires", "00:00:00", "invalid configuration: Cap:Expires: 00:00:00 must be above 0 and at most 7 days" },
        { "Cap:Expires", "8.00:00:00", "invalid configuration: Cap:Expires: 8.00:00:00 must be above 0 and at most 7 days" },
        { "Cap:ExpiresEnded", "-00:10:00", "invalid configuration: Cap:ExpiresEnded: -00:10:00 must be above 0" },
        { "Cap:RefreshBefore", "04:00:00", "invalid configuration: Cap:RefreshBefore: 04:00:00 must be above 0 and at most half of Cap:Expires (06:00:00)" },
        { "CapFeed:PublicBaseUrl", "mailto:feed@example.org", "invalid configuration: CapFeed:PublicBaseUrl: 'mailto:feed@example.org' is not an http(s) URL" },
        { "CapFeed:Enabled", "false", "invalid configuration: Cap:Web: required while CapFeed:Enabled is false and CapFeed:PublicBaseUrl is unset" },
        { "Rules:Threshold:0:Expires", "00:00:00", "invalid configuration: Rules:Threshold:0 (rule 'level'):Expires: 00:00:00 must be above 0 and at most 7 days" },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public async Task A_bad_cap_profile_setting_stops_the_gateway_with_one_line_naming_the_key(string key, string? value, string? expected)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        if (key.StartsWith("Rules:", StringComparison.Ordinal))
        {
            config["Rules:Threshold:0:Id"] = "level";
            config["Rules:Threshold:0:Quantity"] = "water-level";
            config["Rules:Threshold:0:Above"] = "6.2";
        }

        config[key] = value;
        ConfigurationRun.AssertOutcome(await ConfigurationRun.GatewayAsync(config), expected);
    }
}
