namespace SensorKit.Tests.OpenData;

/// <summary>
/// OGC 18-088 Annex A.1, Sensing Core: the service root with its conformance list, every entity set, an entity by
/// id, navigation from each entity type, properties and $value (A.1.1 entity control information, A.1.2–A.1.9 the
/// entity types, the resource path class of A.2.1). Responses are compared with Golden/A1-SensingCore.
/// </summary>
public sealed class SensingCoreConformanceTests(OpenDataGateway gateway) : IClassFixture<OpenDataGateway>
{
    [Theory]
    [InlineData("root", "sta/v1.1")]
    [InlineData("things", "sta/v1.1/Things")]
    [InlineData("thing", "sta/v1.1/Things('test.n2')")]
    [InlineData("locations", "sta/v1.1/Locations")]
    [InlineData("historical-locations", "sta/v1.1/HistoricalLocations")]
    [InlineData("sensors", "sta/v1.1/Sensors")]
    [InlineData("observed-properties", "sta/v1.1/ObservedProperties")]
    [InlineData("datastreams", "sta/v1.1/Datastreams?$top=3")]
    [InlineData("datastream", "sta/v1.1/Datastreams('test.n1.bme280.temperature')")]
    [InlineData("observations-of-datastream", "sta/v1.1/Datastreams('test.n1.bme280.temperature')/Observations")]
    [InlineData("observation", "sta/v1.1/Observations('test.n1.bme280.temperature.1782864240000')")]
    [InlineData("features-of-interest", "sta/v1.1/FeaturesOfInterest")]
    [InlineData("thing-datastreams", "sta/v1.1/Things('test.n1')/Datastreams")]
    [InlineData("thing-locations", "sta/v1.1/Things('test.n1')/Locations")]
    [InlineData("datastream-thing", "sta/v1.1/Datastreams('other.n3.bmp280.pressure')/Thing")]
    [InlineData("datastream-sensor", "sta/v1.1/Datastreams('other.n3.bmp280.pressure')/Sensor")]
    [InlineData("observation-datastream", "sta/v1.1/Observations('test.n1.bme280.temperature.1782864240000')/Datastream")]
    [InlineData("observation-feature", "sta/v1.1/Observations('test.n1.bme280.temperature.1782864240000')/FeatureOfInterest")]
    [InlineData("feature-observations", "sta/v1.1/FeaturesOfInterest('other.n3')/Observations")]
    [InlineData("property", "sta/v1.1/Things('test.n1')/name")]
    [InlineData("property-value", "sta/v1.1/Things('test.n1')/name/$value")]
    [InlineData("refs", "sta/v1.1/Things('test.n1')/Datastreams/$ref")]
    public Task Entities_and_navigation_match_the_golden_responses(string name, string request) =>
        Golden.AssertAsync(gateway, "A1-SensingCore", name, request);

    [Theory]
    [InlineData("thing-missing", "sta/v1.1/Things('test.nobody')", 404)]
    [InlineData("observation-missing", "sta/v1.1/Observations('test.n1.bme280.temperature.1')", 404)]
    public Task Entities_that_do_not_exist_are_404(string name, string request, int status) =>
        Golden.AssertAsync(gateway, "A1-SensingCore", name, request, status);

    [Fact]
    public async Task Operator_data_and_exact_positions_never_appear()
    {
        foreach (string path in new[] { "sta/v1.1/Things?$expand=Locations,Datastreams($expand=Sensor)", "sta/v1.1/Sensors", "sta/v1.1/Locations", "sta/v1.1/FeaturesOfInterest" })
        {
            (_, _, string body) = await gateway.GetAsync(path);
            foreach (string secret in new[] { "degraded", "consecutiveFailures", "NACK", "outbox", "queued", "dropped", "uptime", "0x76", "50.937512", "6.960349", "\"alt\"", "altitude" })
            {
                Assert.DoesNotContain(secret, body, StringComparison.OrdinalIgnoreCase);
            }
        }
    }
}
