using Microsoft.Extensions.Configuration;

namespace SensorKit.Gateway.Rules;

/// <summary>Finds and reads rule pack files (RulePacks/&lt;pack&gt;/rules.json): the same shape as the Rules section, without Packs.</summary>
internal static class RulePacks
{
    public static string? Resolve(RulesOptions options, string pack, string contentRoot)
    {
        if (string.IsNullOrWhiteSpace(pack))
        {
            return null;
        }

        if (pack.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || pack.Contains('/', StringComparison.Ordinal) || pack.Contains('\\', StringComparison.Ordinal))
        {
            return Path.GetFullPath(pack, contentRoot);
        }

        return Path.GetFullPath(Path.Combine(options.PackDirectory, pack, "rules.json"), contentRoot);
    }

    public static RulesOptions? Read(string path, string shown, List<string> errors)
    {
        try
        {
            IConfigurationRoot config = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
            int before = errors.Count;
            RuleCatalog.FindUnknownKeys(config, typeof(RulesOptions), $"{shown}: ", errors);
            var pack = new RulesOptions();
            config.Bind(pack, o => o.ErrorOnUnknownConfiguration = true);
            return errors.Count == before ? pack : null;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidDataException or IOException)
        {
            // Binder and JSON parser messages name the key or the line; keep the innermost, most specific one.
            string message = e.InnerException is { } inner && e.Message.Contains("Failed to convert", StringComparison.Ordinal)
                ? $"{e.Message} ({inner.Message})"
                : e.InnerException?.Message ?? e.Message;
            errors.Add($"{shown}: {message}");
            return null;
        }
    }
}
