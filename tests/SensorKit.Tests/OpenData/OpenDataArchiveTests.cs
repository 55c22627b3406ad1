using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SensorKit.Gateway.Outputs.OpenData.Archive;

namespace SensorKit.Tests.OpenData;

/// <summary>The daily CSV archive, its Frictionless data package and index, and the DCAT-AP catalogue, over HTTP.</summary>
public sealed class OpenDataArchiveTests(OpenDataGateway gateway) : IClassFixture<OpenDataGateway>
{
    [Fact]
    public async Task A_finished_day_becomes_one_csv_per_site_with_a_data_package_and_an_index()
    {
        DailyArchive archive = gateway.Host.Services.GetRequiredService<DailyArchive>();
        // The gateway's pass at start found no data yet (its next is an hour later on the fake clock); a pass now
        // writes the first day of both sites, and one after it nothing.
        Assert.Equal(2, archive.WriteCompleteDays(OpenDataGateway.Now, TestContext.Current.CancellationToken));
        Assert.Equal(0, archive.WriteCompleteDays(OpenDataGateway.Now, TestContext.Current.CancellationToken));

        await Golden.AssertAsync(gateway, "Archive", "index", "open-data/archive/index.json");
        await Golden.AssertAsync(gateway, "Archive", "datapackage", "open-data/archive/test/datapackage.json");
        await Golden.AssertAsync(gateway, "Archive", "schema", "open-data/archive/test/schema.json");
        await Golden.AssertAsync(gateway, "Archive", "csv-other", "open-data/archive/other/other-2026-07-01.csv");
        await Golden.AssertAsync(gateway, "Catalog", "dcat", "open-data/catalog.jsonld");

        (int status, _, string csv) = await gateway.GetAsync("open-data/archive/test/test-2026-07-01.csv");
        Assert.Equal(200, status);
        // 30 windows of the first day; today's window waits for its day to end.
        Assert.Equal(31, csv.TrimEnd().Split("\r\n").Length);
        Assert.Contains("Gesamtschule Beispielstadt", csv, StringComparison.Ordinal);
        Assert.Contains(",50.937837,6.960822,", csv, StringComparison.Ordinal);
        Assert.DoesNotContain("50.937512", csv, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("open-data/archive/../history.db")]
    [InlineData("open-data/archive/test/../../history.db")]
    [InlineData("open-data/archive/%2e%2e/history.db")]
    [InlineData("open-data/archive/test/missing-2026-07-01.csv")]
    public async Task Only_archive_files_are_served(string request)
    {
        (int status, _, _) = await gateway.GetAsync(request);
        Assert.True(status is 404 or 400, $"{request}: {status}");
    }

    [Fact]
    public async Task The_service_root_and_the_catalogue_carry_the_licence()
    {
        JsonNode catalog = await gateway.GetJsonAsync("open-data/catalog.jsonld");
        Assert.Equal("https://creativecommons.org/licenses/by/4.0/", (string)catalog["dct:license"]!["@id"]!);
        JsonNode thing = await gateway.GetJsonAsync("sta/v1.1/Things('test.n1')");
        Assert.Equal("CC-BY-4.0", (string)thing["properties"]!["license"]!);
    }
}
