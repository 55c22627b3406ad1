using SensorKit.Simulation;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Scenarios;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Simulation;

/// <summary>Scenario files: every shipped one loads; a malformed one is rejected with file, line or path, and reason.</summary>
public sealed class ScenarioFileTests
{
    public static TheoryData<string> Shipped() =>
        new(Directory.GetFiles(Path.Combine(RepoPaths.Root, "firmware", "SensorKit.Simulation", "Scenarios"), "*.json").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Shipped))]
    public void Every_shipped_scenario_loads(string file)
    {
        Scenario s = Scenario.Load(Path.Combine(RepoPaths.Root, "firmware", "SensorKit.Simulation", "Scenarios", file));

        Assert.False(string.IsNullOrWhiteSpace(s.Description), $"{file} has no description");
        Assert.NotEmpty(s.Signals);
    }

    [Theory]
    [InlineData("""{ "signals": [ { "quantity": "temperature", "segments": [ { "kind": "wobble", "at": "00:00:00" } ] } ] }""", "heat.json: signals[0].segments[0].kind: 'wobble' is not one of constant, ramp, step, sine")]
    [InlineData("""{ "signals": [ { "quantity": "temperature", "segments": [ { "kind": "ramp", "at": "00:00:00", "to": 30 } ] } ] }""", "heat.json: signals[0].segments[0].duration: a ramp needs a positive duration")]
    [InlineData("""{ "signals": [ { "segments": [ { "kind": "constant", "value": 1 } ] } ] }""", "heat.json: signals[0].quantity: is missing")]
    [InlineData("""{ "signals": [ { "quantity": "temperature", "segments": [ { "kind": "constant", "at": "01:00:00", "value": 1 }, { "kind": "constant", "at": "00:30:00", "value": 2 } ] } ] }""", "heat.json: signals[0].segments[1].at: 00:30:00 is before the previous segment's 01:00:00")]
    [InlineData("""{ "faults": [ { "kind": "melt", "at": "00:00:00" } ] }""", "heat.json: faults[0].kind: 'melt' is not one of nack, absent, stuck, crc, out-of-range, slow")]
    [InlineData("{\n  \"signals\": [\n    { \"quantity\": \"temperature\", \"valu\": 3 }\n  ]\n}", "heat.json: line 3, path $.signals[0].valu")]
    [InlineData("{\n  \"signals\": [\n    { \"quantity\": \"temperature\",, }\n  ]\n}", "heat.json: line 3")]
    public void A_malformed_scenario_names_file_place_and_reason(string json, string expected)
    {
        ScenarioException e = Assert.Throws<ScenarioException>(() => Scenario.Parse(json, "heat.json"));

        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Signals_are_piecewise_and_noise_is_reproducible()
    {
        Scenario s = Scenario.Parse("""
            { "signals": [ { "quantity": "pressure", "noise": { "stdDev": 1.0, "seed": 7 }, "segments": [
                { "kind": "constant", "at": "00:00:00", "value": 1000 },
                { "kind": "ramp", "at": "01:00:00", "duration": "02:00:00", "to": 400 },
                { "kind": "step", "at": "04:00:00", "to": 900 } ] } ] }
            """, "p.json");
        Signal p = Assert.Single(s.Signals);

        // Noise is a function of seed and time only: the same instant gives the same value.
        Assert.Equal(p.At(TimeSpan.FromHours(2)), p.At(TimeSpan.FromHours(2)));
        Assert.InRange(p.At(TimeSpan.FromMinutes(30)), 995, 1005);
        Assert.InRange(p.At(TimeSpan.FromHours(2)), 695, 705);
        Assert.InRange(p.At(TimeSpan.FromHours(3.5)), 395, 405);
        Assert.InRange(p.At(TimeSpan.FromHours(5)), 895, 905);
    }

    [Fact]
    public void Scheduled_faults_switch_on_and_off_with_scenario_time()
    {
        Scenario s = Scenario.Parse("""{ "faults": [ { "node": "n1", "kind": "nack", "at": "00:10:00", "duration": "00:05:00" } ] }""", "f.json");
        ChipEmulator chip = SimulatedI2cBus.CreateEmulator("bme280", 0x76);
        TimeSpan now = TimeSpan.Zero;
        s.Apply(chip, "n1", "bme280", "bme280", () => now);

        Assert.Equal(ChipFault.None, chip.ActiveFaults);
        now = TimeSpan.FromMinutes(12);
        Assert.Equal(ChipFault.Nack, chip.ActiveFaults);
        now = TimeSpan.FromMinutes(15);
        Assert.Equal(ChipFault.None, chip.ActiveFaults);
    }
}
