using System.Text.Json.Nodes;

namespace SensorKit.Tests.OpenData;

/// <summary>Hostile and malformed requests: each a 400 (or 414) naming what is wrong; nothing stored changes and the next request is served.</summary>
public sealed class BadRequestTests(OpenDataGateway gateway) : IClassFixture<OpenDataGateway>
{
    [Theory]
    [InlineData("sta/v1.1/Foos", "'Foos' is not an entity set")]
    [InlineData("sta/v1.1/Things('test.n1')/Bogus", "Things have no property or navigation property 'Bogus'")]
    [InlineData("sta/v1.1/Things/Datastreams", "cannot follow a collection")]
    [InlineData("sta/v1.1/Things?$top=-1", "$top: '-1' is not a non-negative integer")]
    [InlineData("sta/v1.1/Things?$top=51", "$top: 51 is too large; at most 50")]
    [InlineData("sta/v1.1/Things?$top=99999999999999999999", "$top: '99999999999999999999' is not a non-negative integer")]
    [InlineData("sta/v1.1/Things?$skip=abc", "$skip: 'abc' is not a non-negative integer")]
    [InlineData("sta/v1.1/Things?$count=yes", "$count: 'yes' is neither true nor false")]
    [InlineData("sta/v1.1/Things?$frobnicate=1", "$frobnicate: unknown query option")]
    [InlineData("sta/v1.1/Things?$top=1&$top=2", "$top: given twice")]
    [InlineData("sta/v1.1/Things?$select=secret", "$select: Things have no property 'secret'")]
    [InlineData("sta/v1.1/Things?$filter=name eq", "$filter: the expression ends too early")]
    [InlineData("sta/v1.1/Things?$filter=name eq 'n1", "$filter: a string is not closed")]
    [InlineData("sta/v1.1/Things?$filter=(name eq 'n1'", "$filter: ')' expected at the end")]
    [InlineData("sta/v1.1/Things?$filter=nosuch eq 1", "$filter: Things have no property 'nosuch'")]
    [InlineData("sta/v1.1/Things?$filter=frob(name)", "$filter: unknown function 'frob'")]
    [InlineData("sta/v1.1/Things?$filter=length(name, name) eq 1", "$filter: function 'length' takes 1 arguments, not 2")]
    [InlineData("sta/v1.1/Observations?$filter=result gt 1e999", "$filter: '1e999' is not a finite number")]
    [InlineData("sta/v1.1/Observations?$filter=resultTime gt 2026-13-01T00:00:00Z", "$filter: '2026-13-01T00:00:00Z' is not an ISO 8601 date-time")]
    [InlineData("sta/v1.1/Locations?$filter=st_within(location, geography'POLYGON((1 2, 3')", "$filter: geography'POLYGON((1 2, 3' is not well-known text")]
    [InlineData("sta/v1.1/Observations?$filter=result gt 1; DROP TABLE windows", "$filter: unexpected ';")]
    [InlineData("sta/v1.1/Observations?$filter=result gt 1) OR (1=1", "$filter: unexpected ')")]
    [InlineData("sta/v1.1/Observations?$filter=result gt 1 --", "$filter: unexpected '--'")]
    [InlineData("sta/v1.1/Observations?$filter=result gt 0 union select * from nodes", "$filter: unexpected 'union")]
    [InlineData("sta/v1.1/Observations?$orderby=length(Datastream/name)", "$orderby: Observations are ordered by")]
    [InlineData("sta/v1.1/Things?$expand=Datastreams($expand=Observations($expand=Datastream($expand=Thing)))", "$expand=Datastreams: $expand=Observations: $expand=Datastream: $expand: nested deeper than 3 levels")]
    [InlineData("sta/v1.1/Things?$expand=Nothing", "$expand: Things have no navigation property 'Nothing'")]
    [InlineData("sta/v1.1/Things?$expand=Datastreams($top=x)", "$expand=Datastreams: $top: 'x' is not a non-negative integer")]
    [InlineData("sta/v1.1/Things('test.n1')?$top=1", "apply to collections, not to one entity")]
    public async Task A_bad_request_is_a_400_naming_the_problem_and_changes_nothing(string request, string message)
    {
        long before = gateway.StoredWindows;

        (int status, string contentType, string body) = await gateway.GetAsync(request);

        Assert.Equal(400, status);
        Assert.StartsWith("application/json", contentType, StringComparison.Ordinal);
        JsonNode error = JsonNode.Parse(body)!;
        Assert.Equal(400, (int)error["code"]!);
        Assert.Contains(message, (string)error["message"]!, StringComparison.Ordinal);
        Assert.Equal(before, gateway.StoredWindows);
        Assert.Equal(36, gateway.StoredWindows);
        Assert.Equal(4, (await gateway.GetJsonAsync("sta/v1.1/Datastreams?$count=true&$top=1"))["@iot.count"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("sta/v1.1/Things?$filter=name eq 'n1'' OR 1=1 --'")]
    [InlineData("sta/v1.1/Things?$filter=name eq 'x''; DROP TABLE nodes; --'")]
    [InlineData("sta/v1.1/Observations?$filter=Datastream/name eq ''' OR ''1''=''1'")]
    public async Task Quotes_in_a_string_literal_are_data_not_sql(string request)
    {
        JsonNode page = await gateway.GetJsonAsync(request);

        Assert.Empty(page["value"]!.AsArray());
        Assert.Equal(36, gateway.StoredWindows);
    }

    [Fact]
    public async Task A_filter_too_long_or_too_deep_or_a_query_too_long_is_refused()
    {
        (int status, _, string body) = await gateway.GetAsync("sta/v1.1/Things?$filter=" + new string('(', 40) + "name eq 'a'" + new string(')', 40));
        Assert.Equal(400, status);
        Assert.Contains("nested deeper than 32 levels", body, StringComparison.Ordinal);

        (status, _, body) = await gateway.GetAsync("sta/v1.1/Things?$filter=" + string.Join(" or ", Enumerable.Repeat("name eq 'n1'", 130)));
        Assert.Equal(400, status);
        Assert.Contains("$filter: longer than 2000 characters", body, StringComparison.Ordinal);

        (status, _, body) = await gateway.GetAsync("sta/v1.1/Things?x=" + new string('a', 5000));
        Assert.Equal(414, status);
        Assert.Contains("query string is longer than 4096", body, StringComparison.Ordinal);
        Assert.Equal(36, gateway.StoredWindows);
    }
}
