using System.Net;
using System.Net.Http.Headers;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.StatusPage;

/// <summary>The status page over plain HTTP: headers, caching, compression, language, bounds, the operator check and the area feed.</summary>
public sealed class StatusPageHttpTests(StatusPageGateway gateway) : IClassFixture<StatusPageGateway>
{
    private static readonly HttpClient Http = new();

    private static async Task<HttpResponseMessage> GetAsync(Uri url, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        configure?.Invoke(request);
        return await Http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("status/")]
    [InlineData("status/nodes")]
    [InlineData("status/nodes/test/n1")]
    [InlineData("status/history")]
    [InlineData("status/place?lat=50.94&lon=6.96")]
    [InlineData("status/operator")]
    public async Task Every_page_is_served_with_strict_security_headers(string path)
    {
        using HttpResponseMessage r = await GetAsync(gateway.Page(path));
        string body = await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path}: {(int)r.StatusCode} {body}");
        Assert.Equal("text/html; charset=utf-8", r.Content.Headers.ContentType?.ToString());
        string csp = r.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", r.Headers.GetValues("Referrer-Policy").Single());
        Assert.StartsWith("<!doctype html><html lang=\"de\">", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" style=", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", body, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", body.Replace(gateway.Base.ToString().TrimEnd('/'), string.Empty, StringComparison.Ordinal).Replace("http://www.w3.org/2000/svg", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("https://", body, StringComparison.Ordinal);
    }
}

/// <summary>Caching, compression, language, bounds and the area feed.</summary>
public sealed class StatusPageProtocolTests(StatusPageGateway gateway) : IClassFixture<StatusPageGateway>
{
    private static readonly HttpClient Http = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<HttpResponseMessage> GetAsync(string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.Page(path));
        foreach ((string name, string value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await Http.SendAsync(request, Ct);
    }

    [Fact]
    public async Task A_page_has_an_ETag_and_an_unchanged_page_is_a_304()
    {
        using HttpResponseMessage first = await GetAsync("status/history");
        string etag = first.Headers.ETag!.Tag;
        using HttpResponseMessage second = await GetAsync("status/history", ("If-None-Match", etag));
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        Assert.Empty(await second.Content.ReadAsByteArrayAsync(Ct));
    }

    [Theory]
    [InlineData("br")]
    [InlineData("gzip")]
    public async Task Pages_and_assets_are_compressed(string coding)
    {
        using HttpResponseMessage plain = await GetAsync("status/nodes");
        using HttpResponseMessage packed = await GetAsync("status/nodes", ("Accept-Encoding", coding));
        Assert.Equal(coding, packed.Content.Headers.ContentEncoding.Single());
        Assert.True(packed.Content.Headers.ContentLength < plain.Content.Headers.ContentLength / 2, $"{packed.Content.Headers.ContentLength} of {plain.Content.Headers.ContentLength}");
        string css = (await (await GetAsync("status/")).Content.ReadAsStringAsync(Ct)).Split("href=\"/status/assets/status.css")[1].Split('"')[0];
        using HttpResponseMessage asset = await GetAsync("status/assets/status.css" + System.Net.WebUtility.HtmlDecode(css), ("Accept-Encoding", coding));
        Assert.Equal(coding, asset.Content.Headers.ContentEncoding.Single());
        Assert.Contains("immutable", asset.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("en-GB,en;q=0.9", null, "en", "Current warnings")]
    [InlineData("fr-FR, en;q=0.5, de;q=0.8", null, "de", "Aktuelle Warnungen")]
    [InlineData("de-DE", "en", "en", "Current warnings")]
    [InlineData("", null, "de", "Aktuelle Warnungen")]
    public async Task The_language_comes_from_the_switch_then_Accept_Language(string accept, string? lang, string expected, string heading)
    {
        using HttpResponseMessage r = await GetAsync("status/" + (lang is null ? string.Empty : "?lang=" + lang), ("Accept-Language", accept));
        string body = await r.Content.ReadAsStringAsync(Ct);
        Assert.Contains($"<html lang=\"{expected}\">", body, StringComparison.Ordinal);
        Assert.Contains($"<h1>{heading}</h1>", body, StringComparison.Ordinal);
        Assert.Equal(expected, r.Content.Headers.ContentLanguage.Single());
    }

    [Theory]
    [InlineData("status/place?lat=NaN&lon=6.9", 400)]
    [InlineData("status/place?lat=1e309&lon=6.9", 400)]
    [InlineData("status/place?lat=50.9&lon=6.9&radius=100000", 400)]
    [InlineData("status/place?lat=50.9&lat=51&lon=6.9", 400)]
    [InlineData("status/place?q=Atlantis", 404)]
    [InlineData("status/place?q=Teststadt", 200)]
    [InlineData("status/place?q=n1&radius=1", 200)]
    [InlineData("status/nodes/test/nobody", 404)]
    [InlineData("status/nowhere", 404)]
    public async Task Hostile_or_unknown_input_is_a_clear_status(string path, int status)
    {
        using HttpResponseMessage r = await GetAsync(path);
        Assert.Equal(status, (int)r.StatusCode);
        Assert.Equal("text/html; charset=utf-8", r.Content.Headers.ContentType?.ToString());
    }

    [Fact]
    public async Task A_query_string_over_the_bound_is_a_414()
    {
        using HttpResponseMessage page = await GetAsync("status/place?q=" + new string('a', 600));
        using HttpResponseMessage feed = await GetAsync("cap/feed.atom?lat=" + new string('1', 300));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, page.StatusCode);
        Assert.Equal(HttpStatusCode.RequestUriTooLong, feed.StatusCode);
    }

    [Fact]
    public async Task The_place_page_lists_the_warning_near_the_place_and_none_far_away()
    {
        string near = await (await GetAsync("status/place?lat=50,941&lon=6,961&radius=1")).Content.ReadAsStringAsync(Ct);
        string far = await (await GetAsync("status/place?lat=48.1&lon=11.6&radius=10")).Content.ReadAsStringAsync(Ct);
        Assert.Contains(StatusPageGateway.Headline, near, StringComparison.Ordinal);
        Assert.Contains("Im Umkreis von 1 km gibt es 1 Warnung.", near, StringComparison.Ordinal);
        Assert.DoesNotContain(StatusPageGateway.Headline, far, StringComparison.Ordinal);
        Assert.Contains("/cap/feed.atom?lat=48.1&amp;lon=11.6&amp;radius=10", far, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cap/feed.atom?lat=50.941&lon=6.961&radius=1", 200, 1)]
    [InlineData("cap/feed.atom?lat=50.941&lon=6.961", 200, 1)]
    [InlineData("cap/feed.atom?lat=48.1&lon=11.6&radius=50", 200, 0)]
    [InlineData("cap/feed.atom", 200, 1)]
    [InlineData("cap/feed.atom?lat=50.9", 400, 0)]
    [InlineData("cap/feed.atom?lat=50.9&lon=6.9&radius=-1", 400, 0)]
    [InlineData("cap/feed.atom?lat=91&lon=6.9", 400, 0)]
    [InlineData("cap/feed.atom?radius=5", 400, 0)]
    public async Task The_CAP_feed_filters_by_area(string path, int status, int entries)
    {
        using HttpResponseMessage r = await GetAsync(path);
        string body = await r.Content.ReadAsStringAsync(Ct);
        Assert.True(status == (int)r.StatusCode, $"{path}: {(int)r.StatusCode} {body}");
        if (status == 200)
        {
            var feed = System.Xml.Linq.XDocument.Parse(body);
            System.Xml.Linq.XNamespace atom = "http://www.w3.org/2005/Atom";
            Assert.Equal(entries, feed.Root!.Elements(atom + "entry").Count(e => e.Element(atom + "title")!.Value.Contains(StatusPageGateway.Headline, StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task The_live_stream_is_an_event_stream_that_opens_with_a_retry_hint()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.Page("status/events"));
        using HttpResponseMessage r = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType?.MediaType);
        await using Stream stream = await r.Content.ReadAsStreamAsync(Ct);
        using var reader = new StreamReader(stream);
        Assert.Equal("retry: 10000", await reader.ReadLineAsync(Ct));
    }
}

/// <summary>The operator view behind the operator credential; bad settings stop the gateway.</summary>
public sealed class StatusPageOperatorTests
{
    [Fact]
    public async Task The_operator_view_needs_the_token_when_one_is_configured()
    {
        string token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        string file = Path.Combine(TestDirectories.Create("operator-token"), "token");
        await File.WriteAllTextAsync(file, token + "\n", TestContext.Current.CancellationToken);
        await using var gateway = new StatusPageGateway { Extra = new() { ["CapFeed:OperatorTokenFile"] = file } };
        await gateway.InitializeAsync();
        using var http = new HttpClient();

        async Task<HttpResponseMessage> Get(string? authorization)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, gateway.Page("status/operator"));
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            return await http.SendAsync(request, TestContext.Current.CancellationToken);
        }

        using HttpResponseMessage none = await Get(null);
        using HttpResponseMessage wrong = await Get("Bearer " + new string('0', 64));
        using HttpResponseMessage bearer = await Get("Bearer " + token);
        using HttpResponseMessage basic = await Get("Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("anna:" + token)));
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.StartsWith("Basic", none.Headers.WwwAuthenticate.Single().ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("NACK", await none.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bearer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, basic.StatusCode);
        string page = await basic.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("NACK at 0x76", page, StringComparison.Ordinal);
        Assert.Contains("no-store", basic.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("StatusPage:DefaultLanguage", "fr", "StatusPage:DefaultLanguage: 'fr' is not de or en")]
    [InlineData("StatusPage:DefaultRadiusKm", "NaN", "StatusPage:DefaultRadiusKm: NaN must be between 0.1 and 200")]
    [InlineData("StatusPage:PlotPoints", "3", "StatusPage:PlotPoints: 3 must be between 12 and 1440")]
    [InlineData("StatusPage:Colour", "red", "StatusPage:Colour: unknown key")]
    public async Task A_bad_status_page_setting_stops_the_gateway_with_exit_code_2_naming_the_key(string key, string value, string message)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config[key] = value;
        using Microsoft.Extensions.Hosting.IHost host = Hosts.Gateway(config);
        var error = new StringWriter();

        int code = await SensorKit.Gateway.GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.Equal($"invalid configuration: {message}", error.ToString().TrimEnd());
    }
}
