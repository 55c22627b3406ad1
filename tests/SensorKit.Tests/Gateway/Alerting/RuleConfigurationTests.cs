using Microsoft.Extensions.Configuration;
using SensorKit.Gateway;
using SensorKit.Gateway.Rules;
using SensorKit.Protocol;
using SensorKit.Tests.Support;
using static SensorKit.Tests.Gateway.Alerting.AlertingHarness;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>Rules come from configuration and pack files; every mistake is reported at start with rule and key.</summary>
public sealed class RuleConfigurationTests
{
    private static readonly string[] ShippedPacks = ["heat", "storm", "flood", "wildfire-smoke", "shelter-co2", "operator"];

    /// <summary>Validates the rules as the gateway does at start, from a pack file plus configuration keys.</summary>
    private static (List<string> Errors, int Rules) Load(string packJson, Dictionary<string, string?>? config = null)
    {
        string dir = Directory.CreateTempSubdirectory("sensorkit-rules-").FullName;
        try
        {
            string pack = Path.Combine(dir, "rules.json");
            File.WriteAllText(pack, packJson);
            var settings = new Dictionary<string, string?>(config ?? []) { ["Rules:Packs:0"] = pack };
            var options = new RulesOptions();
            IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            configuration.GetSection(RulesOptions.Section).Bind(options);
            var errors = new List<string>();
            RuleCatalog.FindUnknownKeys(configuration.GetSection(RulesOptions.Section), typeof(RulesOptions), "Rules:", errors);
            RuleCatalog catalog = RuleCatalog.Load(options, AppContext.BaseDirectory);
            errors.AddRange(catalog.Errors);
            return (errors, catalog.Rules.Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "temperature" } ] }""", "Threshold:0 (rule 'a'):Above: set exactly one of Above, Below")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "temperature", "Above": 1, "Below": 2 } ] }""", "Threshold:0 (rule 'a'):Above: set exactly one of Above, Below")]
    [InlineData("""{ "Threshold": [ { "Id": "a b", "Quantity": "temperature", "Above": 1 } ] }""", "Threshold:0 (rule 'a b'):Id: 'a b' must be 1-64 characters")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "", "Above": 1 } ] }""", "Threshold:0 (rule 'a'):Quantity: is missing")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 1, "Severity": "Terrible" } ] }""", "Threshold:0 (rule 'a'):Severity: 'Terrible' is not one of Extreme, Severe, Moderate, Minor, Unknown")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 1, "Hysteresis": -1 } ] }""", "Threshold:0 (rule 'a'):Hysteresis: -1 must be zero or positive")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 1, "Hold": "-00:01:00" } ] }""", "Threshold:0 (rule 'a'):Hold: -00:01:00 must not be negative")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 35, "Stages": [ { "Above": 30 } ] } ] }""", "Threshold:0 (rule 'a'):Stages:0:Above: 30 must lie beyond the previous stage's 35")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Below": 5, "Stages": [ { "Below": 6 } ] } ] }""", "Threshold:0 (rule 'a'):Stages:0:Below: 6 must lie beyond the previous stage's 5")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 35, "Stages": [ { "Rise": 40 } ] } ] }""", "Threshold:0 (rule 'a'):Stages:0:Above: a stage sets Above, the same key as its rule")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 35, "Text": { "fr-FR": { "Event": "Canicule" } } } ] }""", "Threshold:0 (rule 'a'):Text:fr-FR: CAP texts are written in de-DE and en-US")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 35, "Corroboration": { "Quorum": 0 } } ] }""", "Threshold:0 (rule 'a'):Corroboration:Quorum: 0 must be at least 1")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 35, "RadiusKm": 0 } ] }""", "Threshold:0 (rule 'a'):RadiusKm: 0 must be above 0")]
    [InlineData("""{ "RateOfChange": [ { "Id": "r", "Quantity": "pressure", "Fall": 600 } ] }""", "RateOfChange:0 (rule 'r'):Window: 00:00:00 must be positive")]
    [InlineData("""{ "RateOfChange": [ { "Id": "r", "Quantity": "pressure", "Fall": -5, "Window": "01:00:00" } ] }""", "RateOfChange:0 (rule 'r'):Fall: -5 must be positive")]
    [InlineData("""{ "RateOfChange": [ { "Id": "r", "Quantity": "pressure", "Window": "01:00:00" } ] }""", "RateOfChange:0 (rule 'r'):Rise: set exactly one of Rise, Fall")]
    [InlineData("""{ "Baseline": [ { "Id": "b", "Quantity": "gas-resistance", "DropPercent": 150 } ] }""", "Baseline:0 (rule 'b'):DropPercent: 150 must be above 0 and below 100")]
    [InlineData("""{ "Baseline": [ { "Id": "b", "Quantity": "gas-resistance", "DropPercent": 50, "MinBaseline": "08:00:00" } ] }""", "Baseline:0 (rule 'b'):MinBaseline: 08:00:00 must lie between 0 and Baseline")]
    [InlineData("""{ "Baseline": [ { "Id": "b", "Quantity": "gas-resistance", "DropPercent": 50, "Also": [ { "Quantity": "temperature", "Rise": 2 } ] } ] }""", "Baseline:0 (rule 'b'):Also:0:Window: 00:00:00 must be positive for Rise")]
    [InlineData("""{ "Baseline": [ { "Id": "b", "Quantity": "gas-resistance", "DropPercent": 50, "Also": [ { "Quantity": "temperature" } ] } ] }""", "Baseline:0 (rule 'b'):Also:0:Above: set exactly one of Above, Below, Rise, Fall, DropPercent, RisePercent")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 1 } ], "RateOfChange": [ { "Id": "a", "Quantity": "t", "Rise": 1, "Window": "01:00:00" } ] }""", "RateOfChange:0 (rule 'a'):Id: already defined at")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Abvoe": 35 } ] }""", "rules.json: Threshold:0 (rule 'a'):Abvoe: unknown key; known here: Above, Below")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 1, "Stages": [ { "Abvoe": 2 } ] } ] }""", "rules.json: Threshold:0 (rule 'a'):Stages:0:Abvoe: unknown key")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": 1, "Text": { "de-DE": { "Titel": "x" } } } ] }""", "rules.json: Threshold:0 (rule 'a'):Text:de-DE:Titel: unknown key")]
    [InlineData("""{ "Treshold": [ ] }""", "rules.json: Treshold: unknown key")]
    [InlineData("""{ "Threshold": [ { "Id": "a", "Quantity": "t", "Above": "high" } ] }""", "rules.json: Failed to convert configuration value 'high' at 'Threshold:0:Above'")]
    [InlineData("""{ "Threshold": [ { "Id": "a", """, "rules.json: ")]
    [InlineData("""{ "Packs": [ "heat" ] }""", "rules.json: Packs: a rule pack cannot load other packs")]
    public void Pack_file_errors_name_the_file_the_rule_and_the_key(string pack, string expected)
    {
        (List<string> errors, int rules) = Load(pack);

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
        Assert.Equal(0, rules);
    }

    [Theory]
    [InlineData("Rules:Packs:1", "no-such-pack", "Rules:Packs:1: rule pack 'no-such-pack' not found")]
    [InlineData("Rules:Sites:x:nope:Hold", "00:01:00", "Rules:Sites:x:nope: there is no rule 'nope'")]
    [InlineData("Rules:Sites:x:r:Above", "5", "Rules:Sites:x:r:Above: rule 'r' is a rate-of-change rule; set Rise or Fall")]
    [InlineData("Rules:Sites:x:r:Quorum", "2", "Rules:Sites:x:r:Quorum: rule 'r' is evaluated per node; it has no Corroboration")]
    [InlineData("Rules:Sites:x:r:Window", "-01:00:00", "Rules:Sites:x:r:Window: -01:00:00 must be positive")]
    [InlineData("Rules:Sites:a b:r:Hold", "00:01:00", "Rules:Sites:a b: 'a b' is not a site id")]
    [InlineData("Rules:Operator:NodeOffline:Heartbeat", "00:00:00", "Rules:Operator:NodeOffline:Heartbeat: 00:00:00 must be positive")]
    [InlineData("Rules:Settle", "-00:00:01", "Rules:Settle: -00:00:01 must not be negative")]
    [InlineData("Rules:Sites:x:r:Hould", "00:01:00", "Rules:Sites:x:r:Hould: unknown key")]
    public void Configuration_errors_name_the_key(string key, string value, string expected)
    {
        (List<string> errors, _) = Load("""{ "RateOfChange": [ { "Id": "r", "Quantity": "pressure", "Fall": 600, "Window": "03:00:00" } ] }""", new() { [key] = value });

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void The_shipped_packs_load_cleanly_and_speak_german_and_english()
    {
        var options = new RulesOptions { Packs = [.. ShippedPacks] };
        RuleCatalog catalog = RuleCatalog.Load(options, AppContext.BaseDirectory);

        Assert.Empty(catalog.Errors);
        Assert.Equal(
            ["flood-rise-rate", "flood-water-level@rhine-cologne", "heat-perceived-temperature", "low-battery", "shelter-co2", "storm-pressure-fall", "wildfire-smoke"],
            catalog.RuleIds.Order(StringComparer.Ordinal));
        foreach (string pack in ShippedPacks)
        {
            var rules = new RulesOptions();
            new ConfigurationBuilder().AddJsonFile(Path.Combine(AppContext.BaseDirectory, "RulePacks", pack, "rules.json")).Build().Bind(rules);
            foreach (HazardRuleOptions rule in rules.Threshold.Concat<HazardRuleOptions>(rules.RateOfChange).Concat(rules.Baseline))
            {
                foreach (string language in new[] { "de-DE", "en-US" })
                {
                    RuleTextOptions text = rule.Text[language];
                    Assert.False(string.IsNullOrWhiteSpace(text.Event), $"{pack}/{rule.Id}: no {language} event");
                    Assert.False(string.IsNullOrWhiteSpace(text.Headline), $"{pack}/{rule.Id}: no {language} headline");
                    Assert.False(string.IsNullOrWhiteSpace(text.Instruction), $"{pack}/{rule.Id}: no {language} instruction");
                    Assert.All(rule.Stages, s => Assert.False(string.IsNullOrWhiteSpace(s.Text[language].Headline), $"{pack}/{rule.Id}: a stage has no {language} headline"));
                }
            }

            Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "gateway", "SensorKit.Gateway", "RulePacks", pack, "README.md")), $"{pack} has no README citing its sources");
        }
    }

    [Fact]
    public void Sites_override_thresholds_without_touching_the_pack()
    {
        using AlertingHarness h = Start("{}", new()
        {
            ["Rules:Packs:1"] = "flood",
            // Cochem gets its own stages; Cologne keeps the pack's; elsewhere the level rule stays off.
            ["Rules:Sites:mosel-cochem:flood-water-level:Enabled"] = "true",
            ["Rules:Sites:mosel-cochem:flood-water-level:Above"] = "6.50",
            ["Rules:Sites:mosel-cochem:flood-water-level:Hold"] = "00:00:00",
            ["Rules:Sites:rhine-cologne:flood-water-level:Hold"] = "00:00:00",
        });
        foreach (string site in new[] { "rhine-cologne", "mosel-cochem", "elsewhere" })
        {
            h.Status(site, "n1");
        }

        foreach ((int minute, double level) in new[] { (0, 6.0), (1, 6.3), (2, 6.6) })
        {
            foreach (string site in new[] { "rhine-cologne", "mosel-cochem", "elsewhere" })
            {
                h.Telemetry(site, "n1", Quantities.WaterLevel, level, Day.AddMinutes(minute));
            }
        }

        Assert.Equal(
            ["rhine-cologne raised @00:01 threshold 6.2", "mosel-cochem raised @00:02 threshold 6.5"],
            h.Alerts.Where(a => a.Rule == "flood-water-level").Select(a => $"{a.Site} {ProtocolJson.Name(a.State)} @{Hhmm(a.Time)} threshold {a.Threshold}"));
    }

    [Fact]
    public async Task A_state_folder_that_cannot_be_created_or_a_feed_port_in_use_stops_the_gateway_naming_the_key()
    {
        string file = Path.GetTempFileName();
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            foreach ((string key, string value, string expected) in new[]
            {
                ("State:Directory", Path.Combine(file, "state"), "invalid configuration: State:Directory: cannot create or open "),
                ("CapFeed:Port", ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "invalid configuration: CapFeed:Port: cannot listen on 127.0.0.1:"),
            })
            {
                Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
                config[key] = value;
                using var host = Hosts.Gateway(config);
                var error = new StringWriter();

                int code = await GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

                Assert.Equal(2, code);
                Assert.StartsWith(expected, error.ToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("Rules:Packs:0", "no-such-pack", "invalid configuration: Rules:Packs:0: rule pack 'no-such-pack' not found")]
    [InlineData("Cap:Sender", "my gateway", "invalid configuration: Cap:Sender: 'my gateway' must be non-empty without spaces")]
    [InlineData("Cap:Status", "Actual", null)]
    [InlineData("Cap:TimeZone", "Mars/Olympus", "invalid configuration: Cap:TimeZone: 'Mars/Olympus' is not a known IANA time zone")]
    [InlineData("CapFeed:Address", "0.0.0.0", "invalid configuration: CapFeed:PublicBaseUrl: the feed listens on 0.0.0.0; set the URL others reach it by")]
    [InlineData("State:FlushInterval", "00:00:00", "invalid configuration: State:FlushInterval: 00:00:00 must be positive")]
    public async Task The_gateway_refuses_to_start_on_a_bad_alerting_setting_with_one_line_naming_the_key(string key, string value, string? expected)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config[key] = value;
        ConfigurationRun.AssertOutcome(await ConfigurationRun.GatewayAsync(config), expected);
    }
}
