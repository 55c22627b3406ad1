using Microsoft.Playwright;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.StatusPage;

/// <summary>
/// Debian's headless Chromium driven by Playwright's bundled driver. The browser is the system's
/// (<c>ExecutablePath</c>), so nothing is downloaded; Playwright gives every launch a new empty profile directory.
/// Without chromium the fixture stays empty and each test skips through <see cref="Start"/>.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    /// <summary>Set to 1 to write the screenshots and page weights into docs/status-page/.</summary>
    public const string UpdateVariable = "SENSORKIT_UPDATE_SCREENSHOTS";

    private static readonly string[] Arguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public static bool Update => Environment.GetEnvironmentVariable(UpdateVariable) == "1";

    public static string DocsDirectory => Path.Combine(RepoPaths.Root, "docs", "status-page");

    public async ValueTask InitializeAsync()
    {
        if (Requires.Locate(["chromium"], Environment.GetEnvironmentVariable(Requires.HideVariable)) is not { } path)
        {
            return;
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = path, Headless = true, Args = Arguments, Timeout = 30_000 });
    }

    /// <summary>The browser; skips the test when chromium is not installed.</summary>
    public IBrowser Start()
    {
        Requires.Program("chromium", "apt-get install chromium");
        return _browser ?? throw new InvalidOperationException("chromium is installed but did not start");
    }

    /// <summary>A fresh context (no cookies, no cache) with short timeouts: auto-waiting, never a fixed sleep.</summary>
    public async Task<IBrowserContext> ContextAsync(string language = "de", ColorScheme scheme = ColorScheme.Light, int width = 1024, bool javaScript = true)
    {
        IBrowserContext context = await Start().NewContextAsync(new BrowserNewContextOptions
        {
            Locale = language == "de" ? "de-DE" : "en-GB",
            ExtraHTTPHeaders = new Dictionary<string, string> { ["Accept-Language"] = language == "de" ? "de-DE,de;q=0.9" : "en-GB,en;q=0.9" },
            ColorScheme = scheme,
            ViewportSize = new ViewportSize { Width = width, Height = 800 },
            JavaScriptEnabled = javaScript,
            ReducedMotion = ReducedMotion.Reduce,
        });
        context.SetDefaultTimeout(10_000);
        return context;
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}
