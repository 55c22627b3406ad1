using System.Diagnostics;
using System.Globalization;
using System.Text;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace SensorKit.Tests.StatusPage;

/// <summary>
/// The status page in a real browser: axe-core (WCAG 2.1 A and AA) on every page in both languages, a keyboard-only
/// walk, reflow at 320 CSS px, the page without JavaScript, screenshots, and what a page weighs on a slow link.
/// </summary>
public sealed class StatusPageBrowserTests(StatusPageGateway gateway, Chromium chromium) : IClassFixture<StatusPageGateway>, IClassFixture<Chromium>
{
    public static readonly (string Name, string Path)[] Pages =
    [
        ("warnings", "status/"),
        ("place", "status/place?lat=50.941&lon=6.961&radius=5"),
        ("nodes", "status/nodes"),
        ("node", "status/nodes/test/n1"),
        ("history", "status/history"),
        ("operator", "status/operator"),
    ];

    private static readonly string[] WcagTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

    [Theory]
    [InlineData("de", "Verbindung verloren", "zweifelhaft")]
    [InlineData("en", "connection lost", "doubtful")]
    public async Task Axe_finds_no_WCAG_2_1_A_or_AA_violation_on_any_page_light_or_dark(string language, string lost, string doubtful)
    {
        var report = new StringBuilder();
        foreach (ColorScheme scheme in new[] { ColorScheme.Light, ColorScheme.Dark })
        {
            await using IBrowserContext context = await chromium.ContextAsync(language, scheme);
            IPage page = await context.NewPageAsync();
            foreach ((string name, string path) in Pages)
            {
                await page.GotoAsync(gateway.Page(path).ToString());
                Assert.Equal(language, await page.GetAttributeAsync("html", "lang"));
                // Open the tables too, so axe sees them.
                await page.EvaluateAsync("() => document.querySelectorAll('details').forEach(d => d.open = true)");
                AxeResult result = await page.RunAxe(new AxeRunOptions { RunOnly = new RunOnlyOptions { Type = "tag", Values = [.. WcagTags] } });
                foreach (AxeResultItem v in result.Violations)
                {
                    report.AppendLine(CultureInfo.InvariantCulture, $"{name} ({language}, {scheme}): {v.Id}: {v.Help} at {string.Join(" | ", v.Nodes.Select(n => n.Html))}");
                }

                Assert.True(result.Passes.Length > 0, $"axe ran no rule on {name}");
            }

            // What the issue asks to be on screen while axe looks: an active alert, a lost node, a doubtful value.
            await page.GotoAsync(gateway.Page("status/").ToString());
            Assert.Equal(1, await page.Locator("#live article.warning").CountAsync());
            await page.GotoAsync(gateway.Page("status/nodes").ToString());
            Assert.Contains(lost, await page.InnerTextAsync("main"), StringComparison.Ordinal);
            Assert.Contains(doubtful, await page.InnerTextAsync("main"), StringComparison.Ordinal);
        }

        Assert.True(report.Length == 0, report.ToString());
    }

    [Theory]
    [InlineData("status/")]
    [InlineData("status/nodes/test/n1")]
    public async Task Every_link_and_control_is_reached_by_Tab_in_document_order_with_visible_focus(string path)
    {
        await using IBrowserContext context = await chromium.ContextAsync();
        IPage page = await context.NewPageAsync();
        await page.GotoAsync(gateway.Page(path).ToString());
        await page.Locator("[data-live-bar]").WaitForAsync();
        string[] expected = await page.EvaluateAsync<string[]>("""
            () => [...document.querySelectorAll('a[href], button, input:not([type=hidden]), summary, [tabindex="0"]')]
                .filter(e => !e.closest('[hidden]') && e.getClientRects().length > 0)
                .map(e => e.tagName + ':' + (e.id || e.textContent.trim().slice(0, 40)))
            """);
        var walked = new List<string>();
        for (int i = 0; i < expected.Length; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            string focused = await page.EvaluateAsync<string>("""
                () => {
                  const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
                  const visible = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && r.width > 0 && r.right > 0 && r.left < innerWidth;
                  return (visible ? '' : 'INVISIBLE ') + e.tagName + ':' + (e.id || e.textContent.trim().slice(0, 40));
                }
                """);
            walked.Add(focused);
        }

        Assert.Equal(expected, walked);
        Assert.StartsWith("A:Zum Inhalt springen", walked[0], StringComparison.Ordinal);

        // The skip link takes keyboard users past the navigation.
        await page.ReloadAsync();
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.PressAsync("Enter");
        Assert.Equal("main", await page.EvaluateAsync<string>("() => document.activeElement.id"));
    }

    [Fact]
    public async Task Each_page_reflows_into_320_css_pixels_without_horizontal_scrolling()
    {
        await using IBrowserContext context = await chromium.ContextAsync(width: 320);
        IPage page = await context.NewPageAsync();
        foreach ((string name, string path) in Pages)
        {
            await page.GotoAsync(gateway.Page(path).ToString());
            await page.EvaluateAsync("() => document.querySelectorAll('details').forEach(d => d.open = true)");
            int[] widths = await page.EvaluateAsync<int[]>("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]");
            Assert.True(widths[0] <= widths[1], $"{name} at 320 px: content {widths[0]} px wide in a {widths[1]} px viewport");
            byte[] shot = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
            if (Chromium.Update && name is "warnings" or "node")
            {
                await File.WriteAllBytesAsync(Path.Combine(Chromium.DocsDirectory, $"{name}-320px.png"), shot, TestContext.Current.CancellationToken);
            }
        }
    }

    [Fact]
    public async Task Without_JavaScript_the_page_shows_the_same_warnings()
    {
        async Task<string[]> WarningsAsync(bool javaScript)
        {
            await using IBrowserContext context = await chromium.ContextAsync(javaScript: javaScript);
            IPage page = await context.NewPageAsync();
            await page.GotoAsync(gateway.Page("status/").ToString());
            return [.. (await page.Locator("#live article.warning").AllInnerTextsAsync()).Select(t => t.Replace("vor ", string.Empty, StringComparison.Ordinal))];
        }

        string[] with = await WarningsAsync(true), without = await WarningsAsync(false);
        Assert.Single(without);
        Assert.Contains(StatusPageGateway.Headline, without[0], StringComparison.Ordinal);
        Assert.Contains("Was Sie tun sollten: Bleiben Sie drinnen.", without[0], StringComparison.Ordinal);
        Assert.Equal(with, without);
    }

    [Fact]
    public async Task Screenshots_of_every_page_light_and_dark()
    {
        if (Chromium.Update)
        {
            Directory.CreateDirectory(Chromium.DocsDirectory);
        }

        foreach (ColorScheme scheme in new[] { ColorScheme.Light, ColorScheme.Dark })
        {
            await using IBrowserContext context = await chromium.ContextAsync("de", scheme);
            IPage page = await context.NewPageAsync();
            foreach ((string name, string path) in Pages)
            {
                await page.GotoAsync(gateway.Page(path).ToString());
                byte[] shot = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
                Assert.True(shot.Length > 1000, $"{name}: empty screenshot");
                if (Chromium.Update)
                {
                    await File.WriteAllBytesAsync(Path.Combine(Chromium.DocsDirectory, $"{name}-{scheme.ToString().ToLowerInvariant()}.png"), shot, TestContext.Current.CancellationToken);
                }
            }
        }
    }

    [Fact]
    public async Task Each_page_weighs_at_most_100_KB_and_loads_over_a_400_kbit_link()
    {
        const long Budget = 100 * 1024;
        var figures = new StringBuilder("| page | requests | transferred (bytes) | load at 400 kbit/s, 400 ms RTT |\n|---|---|---|---|\n");
        foreach ((string name, string path) in Pages)
        {
            await using IBrowserContext context = await chromium.ContextAsync();
            IPage page = await context.NewPageAsync();
            var requests = new List<IRequest>();
            page.RequestFinished += (_, r) => requests.Add(r);
            ICDPSession cdp = await context.NewCDPSessionAsync(page);
            await cdp.SendAsync("Network.enable");
            await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
            {
                ["offline"] = false,
                ["latency"] = 400,
                ["downloadThroughput"] = 400_000 / 8,
                ["uploadThroughput"] = 400_000 / 8,
            });
            var clock = Stopwatch.StartNew();
            await page.GotoAsync(gateway.Page(path).ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.Load, Timeout = 20_000 });
            clock.Stop();
            long bytes = 0;
            foreach (IRequest r in requests.Where(r => !r.Url.EndsWith("/status/events", StringComparison.Ordinal)))
            {
                RequestSizesResult sizes = await r.SizesAsync();
                bytes += sizes.ResponseBodySize + sizes.ResponseHeadersSize;
                Assert.StartsWith(gateway.Base.ToString(), r.Url, StringComparison.Ordinal);
            }

            Assert.True(bytes <= Budget, $"{name}: {bytes} bytes transferred");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"{name}: {clock.Elapsed.TotalSeconds:0.0} s at 400 kbit/s");
            figures.Append(CultureInfo.InvariantCulture, $"| {name} | {requests.Count} | {bytes:N0} | {clock.Elapsed.TotalSeconds:0.00} s |\n");
        }

        TestContext.Current.TestOutputHelper?.WriteLine(figures.ToString());
        if (Chromium.Update)
        {
            Directory.CreateDirectory(Chromium.DocsDirectory);
            await File.WriteAllTextAsync(Path.Combine(Chromium.DocsDirectory, "page-weights.md"), figures.ToString(), TestContext.Current.CancellationToken);
        }
    }
}
