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
