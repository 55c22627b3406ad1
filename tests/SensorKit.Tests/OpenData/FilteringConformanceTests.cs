namespace SensorKit.Tests.OpenData;

/// <summary>
/// OGC 18-088 Annex A.2, Filtering Extension (request data): $select, $expand (nested, with its own options),
/// $orderby, $top, $skip with @iot.nextLink, $count, and $filter with comparison, logical, arithmetic, string, date
/// and geospatial functions; on Observations partly in SQL, partly in memory. Golden/A2-Filtering holds the responses.
/// </summary>
public sealed class FilteringConformanceTests(OpenDataGateway gateway) : IClassFixture<OpenDataGateway>
{
    [Theory]
    [InlineData("select", "sta/v1.1/Things?$select=id,name")]
    [InlineData("select-navigation", "sta/v1.1/Datastreams('test.n2.bme280.temperature')?$select=name,Thing")]
    [InlineData("expand", "sta/v1.1/Things('test.n1')?$expand=Locations,Datastreams($select=name;$top=1)")]
    [InlineData("expand-nested", "sta/v1.1/Things('test.n2')?$select=name&$expand=Datastreams($select=name;$expand=Observations($top=2;$orderby=phenomenonTime desc;$select=result,phenomenonTime;$count=true))")]
    [InlineData("expand-path", "sta/v1.1/Things('other.n3')?$select=id&$expand=Datastreams/ObservedProperty")]
    [InlineData("orderby", "sta/v1.1/Datastreams?$select=id&$orderby=Thing/properties/node desc,name&$top=10")]
    [InlineData("top-skip-next", "sta/v1.1/Datastreams('test.n1.bme280.temperature')/Observations?$top=3&$skip=3&$select=result")]
    [InlineData("count", "sta/v1.1/Observations?$count=true&$top=1&$select=id")]
    [InlineData("filter-compare", "sta/v1.1/Observations?$filter=result gt 28 and resultTime le 2026-07-01T00:10:00Z&$select=id,result")]
    [InlineData("filter-time", "sta/v1.1/Datastreams('test.n2.bme280.temperature')/Observations?$filter=phenomenonTime ge 2026-07-01T00:07:00Z&$select=phenomenonTime,result")]
    [InlineData("filter-or-not", "sta/v1.1/Datastreams('test.n1.bme280.humidity')/Observations?$filter=not (result lt 52) or result eq 59&$select=result")]
    [InlineData("filter-arithmetic", "sta/v1.1/Datastreams('test.n1.bme280.temperature')/Observations?$filter=(result sub 20) mul 2 ge 16 and result mod 2 eq 0&$select=result")]
    [InlineData("filter-parameters", "sta/v1.1/Observations?$filter=parameters/max gt 30.5 and parameters/count eq 6&$select=id")]
    [InlineData("filter-datastream", "sta/v1.1/Observations?$filter=Datastream/Thing/properties/site eq 'other' and result ge 101004&$select=id,result&$count=true")]
    [InlineData("filter-string", "sta/v1.1/Datastreams?$filter=startswith(name, 'humidity') or substringof('bmp', description)&$select=id")]
    [InlineData("filter-string-functions", "sta/v1.1/Things?$filter=length(name) eq 2 and toupper(properties/site) eq 'TEST' and concat(name, '!') eq 'n2!' and indexof(description, 'n2') gt 0&$select=id")]
    [InlineData("filter-date-functions", "sta/v1.1/Observations?$filter=year(resultTime) eq 2026 and month(resultTime) eq 7 and minute(phenomenonTime) eq 2 and hour(resultTime) eq 0&$select=id")]
    [InlineData("filter-quality", "sta/v1.1/Observations?$filter=resultQuality ne null&$select=id,resultQuality")]
    [InlineData("filter-geo-within", "sta/v1.1/Locations?$filter=st_within(location, geography'POLYGON((6.9 50.9, 7.0 50.9, 7.0 50.95, 6.9 50.95, 6.9 50.9))')&$select=id")]
    [InlineData("filter-geo-intersects", "sta/v1.1/Things?$filter=geo.intersects(Locations/location, geography'POINT(7.1 51.2)')&$select=id", 400)]
    [InlineData("filter-geo-feature", "sta/v1.1/FeaturesOfInterest?$filter=geo.intersects(feature, geography'POLYGON((7 51, 7.2 51, 7.2 51.3, 7 51.3, 7 51))')&$select=id")]
    [InlineData("filter-geo-distance", "sta/v1.1/Locations?$filter=geo.distance(location, geography'POINT(6.96 50.938)') lt 0.005&$select=id")]
    [InlineData("filter-observation-geo", "sta/v1.1/Observations?$filter=st_within(FeatureOfInterest/feature, geography'POLYGON((7 51, 7.2 51, 7.2 51.3, 7 51.3, 7 51))')&$select=id&$top=2")]
    public Task Query_options_match_the_golden_responses(string name, string request, int status = 200) =>
        Golden.AssertAsync(gateway, "A2-Filtering", name, request, status);

    [Fact]
    public async Task Next_links_walk_every_observation_once_in_order()
    {
        var seen = new List<string>();
        string? next = "sta/v1.1/Observations?$top=7&$select=id";
        while (next is not null)
        {
            System.Text.Json.Nodes.JsonNode page = await gateway.GetJsonAsync(next.Replace("http://gateway/", string.Empty, StringComparison.Ordinal));
            seen.AddRange(page["value"]!.AsArray().Select(v => (string)v!["@iot.id"]!));
            next = (string?)page["@iot.nextLink"];
        }

        Assert.Equal(36, seen.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }
}
