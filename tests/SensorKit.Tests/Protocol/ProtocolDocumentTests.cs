using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Protocol;

/// <summary>docs/protocol.md is a public contract: its examples must parse, and it must list every field we write.</summary>
public sealed partial class ProtocolDocumentTests
{
    private static readonly string Document = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "protocol.md"));

    private static IEnumerable<string> JsonExamples() =>
        JsonBlock().Matches(Document).Select(m => m.Groups[1].Value.Trim());

    [Fact]
    public void Every_example_parses_with_the_reader_of_its_schema()
    {
        var schemas = new List<string>();
        foreach (string json in JsonExamples())
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(json);
            string schema = JsonDocument.Parse(json).RootElement.GetProperty("schema").GetString()!;
            schemas.Add(schema);
            string error;
            bool ok = schema switch
            {
                TelemetryMessage.Schema => ProtocolJson.TryReadTelemetry(utf8, out _, out error),
                NodeStatusMessage.Schema => ProtocolJson.TryReadStatus(utf8, out _, out error),
                AlertMessage.Schema => ProtocolJson.TryReadAlert(utf8, out _, out error),
                _ => throw new InvalidOperationException($"unknown schema {schema}"),
            };
            Assert.True(ok, $"{schema} example: {error}");
        }

        Assert.Equal([AlertMessage.Schema, NodeStatusMessage.Schema, TelemetryMessage.Schema], schemas.Order().ToArray());
    }

    [Fact]
    public void Every_field_written_is_documented_in_a_table()
    {
        using var buffer = new PayloadBuffer();
        var written = new HashSet<string>();
        Collect(JsonDocument.Parse(buffer.Telemetry(Samples.Telemetry()).ToArray()).RootElement, written);
        Collect(JsonDocument.Parse(buffer.Status(Samples.Status()).ToArray()).RootElement, written);
        Collect(JsonDocument.Parse(buffer.Alert(Samples.Alert()).ToArray()).RootElement, written);

        foreach (string field in written)
        {
            Assert.Contains($"| `{field}` |", Document, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Documented_topics_are_the_ones_the_code_builds()
    {
        Assert.Contains($"`{Topics.Telemetry("{site}", "{node}", "{sensor}", "{quantity}")}`", Document, StringComparison.Ordinal);
        Assert.Contains($"`{Topics.Status("{site}", "{node}")}`", Document, StringComparison.Ordinal);
        Assert.Contains($"`{Topics.AlertEvent("{site}", "{rule}", "{subject}")}`", Document, StringComparison.Ordinal);
        Assert.Contains($"`{Topics.AlertActive("{site}", "{rule}", "{subject}")}`", Document, StringComparison.Ordinal);
        Assert.Contains($"`{Topics.AlertCap("{site}", "{rule}", "{subject}")}`", Document, StringComparison.Ordinal);
    }

    private static void Collect(JsonElement e, HashSet<string> names)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in e.EnumerateObject())
            {
                names.Add(p.Name);
                Collect(p.Value, names);
            }
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in e.EnumerateArray())
            {
                Collect(item, names);
            }
        }
    }

    [GeneratedRegex("```json\\s*\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();
}
