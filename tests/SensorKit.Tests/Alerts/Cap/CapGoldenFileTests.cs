using System.Text;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Tests.Support;
using Xunit;
using static SensorKit.Tests.Alerts.Cap.CapTestSupport;

namespace SensorKit.Tests.Alerts.Cap;

/// <summary>
/// The checked-in examples in docs/examples are exactly what the writer produces, signed with the example key
/// (<see cref="ExampleSigningKey"/>; PKCS#1 v1.5 signatures are deterministic). After an intended change to the
/// output, rerun with SENSORKIT_REGENERATE_GOLDEN=1 to rewrite them and review the diff.
/// </summary>
public class CapGoldenFileTests
{
    private static readonly Dictionary<string, Func<CapAlert>> Examples = new()
    {
        ["cap-alert.xml"] = CapExamples.FloodAlert,
        ["cap-update.xml"] = CapExamples.FloodUpdate,
        ["cap-allclear.xml"] = CapExamples.FloodAllClear,
        ["cap-operator.xml"] = CapExamples.NodeOffline,
    };

    [Theory]
    [InlineData("cap-alert.xml")]
    [InlineData("cap-update.xml")]
    [InlineData("cap-allclear.xml")]
    [InlineData("cap-operator.xml")]
    public void Example_matches_the_checked_in_file_byte_for_byte(string fileName)
    {
        using CapSigner signer = ExampleSigningKey.Signer();
        var actual = signer.Sign(CapWriter.ToUtf8Bytes(Examples[fileName]()));
        Assert.Empty(CapSchema.Validate(Encoding.UTF8.GetString(actual)));
        var path = Path.Combine(RepoRoot(), "docs", "examples", fileName);

        if (Environment.GetEnvironmentVariable("SENSORKIT_REGENERATE_GOLDEN") == "1")
        {
            File.WriteAllBytes(path, actual);
            return;
        }

        Assert.True(File.Exists(path), $"{path} is missing; run the tests with SENSORKIT_REGENERATE_GOLDEN=1 to create it.");
        var expected = File.ReadAllBytes(path);

        // Text first for a readable diff, then bytes for what the text comparison cannot see (BOM, encoding).
        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(actual));
        Assert.Equal(expected, actual);
    }
}
