using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SensorKit.Gateway.Alerts.Feed;

namespace SensorKit.Benchmarks;

/// <summary>
/// opendata-query [--requests 200]: the SensorThings API of a real gateway over the fleet database of
/// history-generate (500 nodes × 9 channels × 30 days), asked over HTTP on loopback; latency percentiles of the two
/// queries of docs/open-data.md.
/// </summary>
internal static class OpenDataRuns
{
    public static async Task<int> QueryAsync(string[] args)
    {
        int requests = LoadSupport.Option(args, "--requests", 200);
        string state = Path.GetDirectoryName(HistoryRuns.FleetDatabase)!;
        if (!File.Exists(HistoryRuns.FleetDatabase))
        {
            Console.Error.WriteLine($"opendata-query: no {HistoryRuns.FleetDatabase}; run history-generate first");
            return 2;
        }

        var extra = new Dictionary<string, string?>
        {
            ["CapFeed:Enabled"] = "true",
            ["CapFeed:Port"] = "0",
            // The fleet's data lies in the past: keep it raw, and archive nothing.
            ["History:RawRetention"] = "3650.00:00:00",
            ["History:RollupRetention"] = "3650.00:00:00",
            ["OpenData:ArchiveEnabled"] = "false",
        };
        using IHost gateway = await LoadSupport.StartGatewayAsync(LoadSupport.FreePort(), state, extra: extra);
        Uri root = new(gateway.Services.GetRequiredService<CapFeedServer>().BaseAddress!, "sta/v1.1/");
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var random = new Random(3);
        DateTimeOffset start = HistoryRuns.FleetEnd.AddDays(-30);

        // 1. 24 hours of one datastream, every page (1,440 observations, pages of 1,000).
        List<double> day = await MeasureAsync(requests, async () =>
        {
            int node = random.Next(1, 501);
            DateTimeOffset from = start.AddDays(random.Next(0, 29));
            string? url = new Uri(root, $"Datastreams('site-1.node-{node}.bme280.temperature')/Observations?$top=1000&$filter=phenomenonTime ge {Iso(from)} and phenomenonTime le {Iso(from.AddDays(1))}").ToString();
            int rows = 0;
            while (url is not null)
            {
                JsonNode page = JsonNode.Parse(await http.GetStringAsync(url))!;
                rows += page["value"]!.AsArray().Count;
                url = (string?)page["@iot.nextLink"];
            }

            return rows == 1440 ? null : $"{rows} observations, not 1440";
        });
        Report("one Datastream, 24 h (1,440 Observations in 2 pages)", day);

        // 2. One hour of every datastream of the site whose result passes a threshold: a page of 100.
        List<double> site = await MeasureAsync(requests, async () =>
        {
            DateTimeOffset from = start.AddDays(random.Next(0, 29)).AddHours(random.Next(0, 24));
            string url = new Uri(root, $"Observations?$filter=Datastream/Thing/properties/site eq 'site-1' and phenomenonTime ge {Iso(from)} and phenomenonTime le {Iso(from.AddHours(1))} and result gt 805").ToString();
            JsonNode page = JsonNode.Parse(await http.GetStringAsync(url))!;
            return page["value"]!.AsArray().Count > 0 ? null : "no observations";
        });
        Report("site-wide, 1 h, result gt 805 (first page of 100 over 4,500 Datastreams)", site);
        await gateway.StopAsync();
        return 0;
    }

    private static async Task<List<double>> MeasureAsync(int requests, Func<Task<string?>> request)
    {
        for (int i = 0; i < 10; i++)
        {
            await request();
        }

        var times = new List<double>(requests);
        for (int i = 0; i < requests; i++)
        {
            long t = Stopwatch.GetTimestamp();
            if (await request() is { } problem)
            {
                throw new InvalidOperationException(problem);
            }

            times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }

        times.Sort();
        return times;
    }

    private static void Report(string what, List<double> sorted) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"opendata-query: {what}: {sorted.Count} requests, P50 {LoadSupport.Ms(LoadSupport.Percentile(sorted, 0.5))} ms, P95 {LoadSupport.Ms(LoadSupport.Percentile(sorted, 0.95))} ms, max {LoadSupport.Ms(sorted[^1])} ms"));

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
