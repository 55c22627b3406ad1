using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SensorKit.Node.Configuration;
using SensorKit.Node.Sensors;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Deployment;

/// <summary>The field documentation in hardware/ stays consistent: BOM, diagrams, links, units, examples, and a wiring section per sensor type.</summary>
public sealed partial class HardwareDocsTests
{
    private static readonly string Hardware = Path.Combine(RepoPaths.Root, "hardware");

    public static TheoryData<string> Diagrams() => FilesIn("diagrams", "*.svg");

    public static TheoryData<string> Examples() => FilesIn("examples", "*.json");

    public static TheoryData<string> Units() => FilesIn("systemd", "*.service");

    private static TheoryData<string> FilesIn(string folder, string pattern) =>
        [.. Directory.GetFiles(Path.Combine(Hardware, folder), pattern).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Fact]
    public void Bom_rows_are_complete_and_priced()
    {
        string[] lines = File.ReadAllLines(Path.Combine(Hardware, "bom.csv"));
        Assert.Equal("build,part,quantity,function,interface,approx_price_eur,notes", lines[0]);
        Assert.True(lines.Length > 20, "the BOM covers both reference builds");
        string[] builds = ["common", "flood", "heat-air", "bench", "option"];
        for (int i = 1; i < lines.Length; i++)
        {
            string[] f = ParseCsvLine(lines[i]);
            string where = $"bom.csv line {i + 1}";
            Assert.True(f.Length == 7, $"{where}: {f.Length} fields, expected 7");
            Assert.Contains(f[0], builds);
            Assert.False(string.IsNullOrWhiteSpace(f[1]), $"{where}: part is empty");
            Assert.True(int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int quantity) && quantity > 0, $"{where}: quantity '{f[2]}'");
            Assert.False(string.IsNullOrWhiteSpace(f[3]), $"{where}: function is empty");
            Assert.True(double.TryParse(f[5], NumberStyles.Float, CultureInfo.InvariantCulture, out double price) && price > 0, $"{where}: price '{f[5]}'");
        }
    }

    [Theory]
    [MemberData(nameof(Diagrams))]
    public async Task Diagram_is_valid_svg_and_renders(string file)
    {
        string path = Path.Combine(Hardware, "diagrams", file);
        XDocument svg = XDocument.Load(path);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        Assert.False(string.IsNullOrWhiteSpace(svg.Root.Element(ns + "title")?.Value), $"{file} has a <title> for screen readers");

        string rsvg = Requires.Program("rsvg-convert", "apt-get install librsvg2-bin", "the XML was checked, the rendering was not");

        string png = Path.Combine(Path.GetTempPath(), $"{Path.GetFileNameWithoutExtension(file)}-{Guid.NewGuid():N}.png");
        try
        {
            using var process = Process.Start(new ProcessStartInfo(rsvg, [path, "-o", png]) { RedirectStandardError = true, UseShellExecute = false })!;
            string error = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.True(process.ExitCode == 0, error);
            Assert.True(new FileInfo(png).Length > 10_000, $"{file} rendered to an almost empty image");
        }
        finally
        {
            File.Delete(png);
        }
    }

    [Fact]
    public void Every_relative_link_in_the_hardware_docs_exists()
    {
        var broken = new List<string>();
        foreach (string doc in Directory.GetFiles(Hardware, "*.md"))
        {
            foreach (Match m in MarkdownLink().Matches(File.ReadAllText(doc)))
            {
                string target = m.Groups["target"].Value.Split('#')[0];
                if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal))
                {
                    continue;
                }

                if (!File.Exists(Path.Combine(Hardware, target)) && !Directory.Exists(Path.Combine(Hardware, target)))
                {
                    broken.Add($"{Path.GetFileName(doc)}: {target}");
                }
            }
        }

        Assert.Empty(broken);
    }

    [Fact]
    public void Every_sensor_type_has_a_wiring_section()
    {
        string[] headings = [.. File.ReadAllLines(Path.Combine(Hardware, "wiring.md")).Where(l => l.StartsWith("### ", StringComparison.Ordinal))];
        Assert.All(SensorCatalog.Names, type => Assert.Contains(headings, h => h.Contains(type, StringComparison.OrdinalIgnoreCase)));
    }

    [Theory]
    [MemberData(nameof(Units))]
    public async Task Unit_passes_systemd_analyze_verify_and_keeps_its_hardening(string file)
    {
        string text = File.ReadAllText(Path.Combine(Hardware, "systemd", file));
        foreach (string required in (string[])["Type=notify", "WatchdogSec=", "Restart=always", "RestartPreventExitStatus=2", "User=sensorkit", "StateDirectory=", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n"])
        {
            Assert.Contains(required, text, StringComparison.Ordinal);
        }

        // Secrets come through LoadCredential= drop-ins, never through the unit's environment or command line.
        Assert.DoesNotMatch(new Regex("^(Environment|ExecStart)=.*password", RegexOptions.IgnoreCase | RegexOptions.Multiline), text);
        if (file == "sensorkit-node.service")
        {
            Assert.Contains("SupplementaryGroups=i2c", text, StringComparison.Ordinal);
            Assert.Contains("DeviceAllow=char-i2c rw", text, StringComparison.Ordinal);
        }

        string analyze = Requires.Program("systemd-analyze", "apt-get install systemd", "the unit's directives were checked, systemd's own verification was not");

        // The program is not installed here: point ExecStart at a binary that exists, keep everything else.
        string dir = Directory.CreateTempSubdirectory("sensorkit-unit-").FullName;
        try
        {
            string copy = Path.Combine(dir, file);
            File.WriteAllText(copy, Regex.Replace(text, "^ExecStart=.*$", "ExecStart=/bin/true", RegexOptions.Multiline));
            using var process = Process.Start(new ProcessStartInfo(analyze, ["verify", copy]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
            string output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken) + await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.True(process.ExitCode == 0, output);
            Assert.True(output.Trim().Length == 0, $"systemd-analyze verify complained:\n{output}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_configuration_passes_the_node_validators(string file)
    {
        IConfiguration config = new ConfigurationBuilder().AddJsonFile(Path.Combine(Hardware, "examples", file)).Build();
        NodeOptions node = config.GetSection(NodeOptions.Section).Get<NodeOptions>()!;
        MqttOptions mqtt = config.GetSection(MqttOptions.Section).Get<MqttOptions>()!;
        string[] unknown = [.. node.Sensors.Select(s => s.Type).Where(t => !SensorCatalog.TryGet(t, out _)).Distinct()];
        if (unknown.Length > 0)
        {
            Assert.Skip($"{file} uses sensor types this build's catalog does not have yet ({string.Join(", ", unknown)}): not validated");
        }

        // The password never sits in these files: the service unit passes Mqtt__PasswordFile (LoadCredential).
        string password = Path.GetTempFileName();
        if (!string.IsNullOrEmpty(mqtt.Username))
        {
            mqtt.PasswordFile ??= password;
        }

        // Nor the broker's CA: the deployment copies it to the node (hardware/deploy.md); any PEM certificate stands in for it.
        string ca = Path.GetTempFileName();
        if (mqtt.CaFile is not null)
        {
            using var key = System.Security.Cryptography.ECDsa.Create();
            using var cert = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=ca", key, System.Security.Cryptography.HashAlgorithmName.SHA256)
                .CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(ca, cert.ExportCertificatePem());
            mqtt.CaFile = ca;
        }

        ValidateOptionsResult n = new NodeOptionsValidator(config).Validate(null, node);
        ValidateOptionsResult m = new MqttOptionsValidator().Validate(null, mqtt);
        File.Delete(password);
        File.Delete(ca);
        Assert.True(n.Succeeded, n.FailureMessage);
        Assert.True(m.Succeeded, m.FailureMessage);
    }

    private static string[] ParseCsvLine(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    current.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return [.. fields];
    }

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();
}
