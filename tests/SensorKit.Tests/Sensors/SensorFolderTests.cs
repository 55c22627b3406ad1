using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Node.Sampling;
using SensorKit.Node.Sensors;
using SensorKit.Simulation;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Sensors;

/// <summary>One folder per sensor (docs/architecture-sensors.md): everything a sensor type needs is there, and its sample works.</summary>
public sealed partial class SensorFolderTests
{
    private static readonly string SensorsFolder = Path.Combine(RepoPaths.Root, "firmware", "SensorKit.Node", "Sensors");

    public static TheoryData<string> Types => [.. SensorCatalog.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Types))]
    public void Sensor_folder_holds_adapter_registration_emulator_readme_and_sample(string type)
    {
        string folder = Folder(type);
        string chip = Path.GetFileName(folder);
        foreach (string file in (string[])[$"{chip}Adapter.cs", $"{chip}Sensor.cs", "README.md", "sample.json", Path.Combine("Emulator", $"{chip}Emulator.cs")])
        {
            Assert.True(File.Exists(Path.Combine(folder, file)), $"{type}: no {file} in {Path.GetRelativePath(RepoPaths.Root, folder)}");
        }
    }

    [Fact]
    public void Every_catalog_type_has_exactly_one_emulator_and_every_emulator_a_type()
    {
        Assert.Equal(SensorCatalog.Names, SimulatedI2cBus.EmulatedTypes);
        Assert.All(SensorCatalog.All, t => Assert.Equal(t.DefaultAddress, SimulatedI2cBus.CreateEmulator(t.Name, t.DefaultAddress).Address));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Readme_sample_is_the_sensor_entry_of_sample_json(string type)
    {
        string folder = Folder(type);
        string readme = File.ReadAllText(Path.Combine(folder, "README.md"));
        Match block = SampleBlock().Match(readme);
        Assert.True(block.Success, $"{type}: README.md has no JSON block under '## Sample configuration'");

        JsonNode fromReadme = JsonNode.Parse("{" + block.Groups["json"].Value + "}")!;
        JsonNode sample = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "sample.json")))!;
        Assert.True(JsonNode.DeepEquals(fromReadme["Node"]!["Sensors"], sample["Node"]!["Sensors"]), $"{type}: README.md and sample.json configure the sensor differently");
        Assert.Equal(type, (string?)sample["Node"]!["Sensors"]![0]!["Type"]);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Sample_configuration_starts_a_node_that_reads_the_sensor_through_its_emulator(string type)
    {
        // The sample as it is, bound strictly and validated as at start; only where the outbox goes and the simulation differ.
        using IHost host = Hosts.Node(
            new Dictionary<string, string?>
            {
                ["Outbox:Directory"] = TestDirectories.Create($"sample-{type}"),
                ["Simulation:Enabled"] = "true",
            },
            jsonFile: Path.Combine(Folder(type), "sample.json"));
        host.Services.GetRequiredService<IStartupValidator>().Validate();

        II2cBusProvider buses = host.Services.GetRequiredService<II2cBusProvider>();
        SensorSlot slot = Assert.Single(host.Services.GetRequiredService<SensorRegistry>().Slots);
        Assert.Equal(type, slot.Type.Name);
        IReadOnlyList<ChannelSpec> channels = slot.Type.ChannelsFor(slot.Options);
        double[] values = new double[channels.Count];
        using (ISensorAdapter adapter = slot.Type.Open(buses.Open(slot.Bus, slot.Address), slot.Options))
        {
            adapter.Read(values);
        }

        for (int i = 0; i < values.Length; i++)
        {
            Assert.InRange(values[i], channels[i].RangeMin, channels[i].RangeMax);
        }
    }

    private static string Folder(string type) =>
        Directory.GetDirectories(SensorsFolder).SingleOrDefault(d => string.Equals(Path.GetFileName(d), type, StringComparison.OrdinalIgnoreCase))
        ?? throw new DirectoryNotFoundException($"no folder for sensor type '{type}' in {SensorsFolder}");

    [GeneratedRegex(@"## Sample configuration.*?```json\n(?<json>.*?)```", RegexOptions.Singleline)]
    private static partial Regex SampleBlock();
}
