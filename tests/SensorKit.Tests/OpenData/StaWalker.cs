using System.Text.Json.Nodes;

namespace SensorKit.Tests.OpenData;

/// <summary>Follows every link of a SensorThings service from its root: entity set urls, selfLinks, navigationLinks and nextLinks.</summary>
internal static class StaWalker
{
    /// <summary>What the walk reached: every URL requested (each answered 2xx with JSON) and the last path segments' names.</summary>
    public sealed record Walk(IReadOnlySet<string> Visited, IReadOnlySet<string> Kinds, int Unvisited);

    public static async Task<Walk> WalkAsync(HttpClient http, Uri root, int maxRequests, CancellationToken ct)
    {
        var queue = new Queue<string>([root.ToString()]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var kinds = new HashSet<string>(StringComparer.Ordinal);
        while (seen.Count < maxRequests && queue.TryDequeue(out string? url))
        {
            if (!seen.Add(url))
            {
                continue;
            }

            using HttpResponseMessage r = await http.GetAsync(url, ct);
            string body = await r.Content.ReadAsStringAsync(ct);
            Assert.True(r.IsSuccessStatusCode, $"{url}: {(int)r.StatusCode} {body}");
            Assert.StartsWith("application/json", r.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            JsonNode doc = JsonNode.Parse(body)!;

            // The root also links to the licence and the catalogue; everything else stays within the service.
            foreach (string link in Links(doc, url == root.ToString()))
            {
                if (url == root.ToString() && !link.StartsWith(root.ToString(), StringComparison.Ordinal))
                {
                    continue;
                }

                Assert.StartsWith(root.ToString(), link, StringComparison.Ordinal);
                kinds.Add(new Uri(link).Segments.Last().Split('(')[0]);
                queue.Enqueue(link);
            }
        }

        return new Walk(seen, kinds, queue.Count(u => !seen.Contains(u)));
    }

    private static IEnumerable<string> Links(JsonNode? node, bool root)
    {
        switch (node)
        {
            case JsonObject o:
                foreach ((string key, JsonNode? value) in o)
                {
                    if (root && key == "serverSettings")
                    {
                        continue;
                    }

                    if ((key.EndsWith("@iot.navigationLink", StringComparison.Ordinal) || key.EndsWith("@iot.nextLink", StringComparison.Ordinal) || key is "@iot.selfLink" or "url")
                        && value is JsonValue v)
                    {
                        yield return (string)v!;
                    }
                    else
                    {
                        foreach (string l in Links(value, root))
                        {
                            yield return l;
                        }
                    }
                }

                break;
            case JsonArray a:
                foreach (string l in a.SelectMany(n => Links(n, root)))
                {
                    yield return l;
                }

                break;
        }
    }
}
