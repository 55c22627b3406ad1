using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SensorKit.Gateway.Ingest;
using SensorKit.Protocol;
using static Microsoft.Playwright.Assertions;
using SensorKit.Gateway.Fleet;

namespace SensorKit.Tests.StatusPage;

/// <summary>
/// A gateway whose texts and node ids carry markup: it must render as text. And live updates: a new alert appears
/// without a reload, is announced politely, never moves focus, and stops when paused.
/// </summary>
public sealed class StatusPageLiveTests(StatusPageLiveTests.HostileGateway gateway, Chromium chromium) : IClassFixture<StatusPageLiveTests.HostileGateway>, IClassFixture<Chromium>
{
    public const string Markup = "<script>alert(\"x\")</script> \"quoted\" 'single' <img src=x onerror=alert(1)>";

    public sealed class HostileGateway : IAsyncLifetime
    {
        public StatusPageGateway Inner { get; } = new()
        {
            Extra = new()
            {
                ["Rules:Threshold:0:Text:de-DE:Headline"] = "Hitze " + Markup,
                ["Rules:Threshold:0:Text:de-DE:Instruction"] = "Drinnen bleiben. " + Markup,
                ["Cap:Sites:test:de-DE"] = "Teststadt " + Markup,
            },
        };

        public async ValueTask InitializeAsync()
        {
            await Inner.InitializeAsync();
            // Ids from the wire are plain identifiers (Topics.IsValidLevel); one restored from elsewhere must still be inert.
            var status = new NodeStatusMessage
            {
                Site = "test",
                Node = "n9" + Markup,
                State = NodeState.Lost,
                Time = DateTimeOffset.UtcNow,
                Location = new GeoLocation(50.94, 6.96, null),
                Sensors = [new SensorStatus { Id = Markup, Type = "bme280", Bus = 1, Address = 0x76, Health = SensorHealth.Failed, LastError = Markup }],
            };
            using var buffer = new PayloadBuffer();
            Inner.Host.Services.GetRequiredService<NodeDirectory>().Update(status, buffer.Status(status).Span);
        }

        public ValueTask DisposeAsync() => Inner.DisposeAsync();
    }

    [Theory]
    [InlineData("status/")]
    [InlineData("status/nodes")]
    [InlineData("status/operator")]
    [InlineData("status/history")]
    [InlineData("status/place?q=%3Cscript%3Ealert(%22q%22)%3C%2Fscript%3E%22%27")]
    public async Task Markup_in_node_ids_names_and_alert_texts_renders_as_text(string path)
    {
        await using IBrowserContext context = await chromium.ContextAsync();
        IPage page = await context.NewPageAsync();
        var dialogs = new List<string>();
        page.Dialog += (_, d) => dialogs.Add(d.Message);
        IResponse? response = await page.GotoAsync(gateway.Inner.Page(path).ToString());
        Assert.NotNull(response);
        string text = await page.InnerTextAsync("body");

        Assert.Empty(dialogs);
        Assert.Equal(1, await page.EvaluateAsync<int>("() => document.scripts.length"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('main img, main script').length"));
        Assert.Contains(path.Contains("place", StringComparison.Ordinal) ? "<script>alert(\"q\")</script>\"'" : Markup, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_alert_appears_live_is_announced_politely_and_never_moves_focus()
    {
        await using IBrowserContext context = await chromium.ContextAsync();
        IPage page = await context.NewPageAsync();
        await page.GotoAsync(gateway.Inner.Page("status/").ToString());
        ILocator warnings = page.Locator("#live article.warning");
        ILocator pause = page.Locator("[data-live-bar] button");
        await Expect(warnings).ToHaveCountAsync(1);
        await Expect(pause).ToBeVisibleAsync();
        Assert.Equal("polite", await page.GetAttributeAsync("[data-live-status]", "aria-live"));
        await page.Locator("#place-q").FocusAsync();

        await gateway.Inner.PublishAsync("n4", NodeState.Online, DateTimeOffset.UtcNow, 50.9380, 6.9580, SensorHealth.Ok, day: false, last: 42, QualityFlags.None);

        await Expect(warnings).ToHaveCountAsync(2);
        await Expect(page.Locator("[data-live-status]")).ToHaveTextAsync("Es gibt 2 Warnungen.");
        Assert.Equal("place-q", await page.EvaluateAsync<string>("() => document.activeElement.id"));

        // Paused, the stream is closed: the state is announced and the button says it is pressed.
        await pause.ClickAsync();
        await Expect(pause).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(page.Locator("[data-live-status]")).ToHaveTextAsync("Live-Aktualisierung angehalten.");
    }
}
