using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace SensorKit.Hosting;

/// <summary>
/// Builds and runs a worker's host; a configuration error ends it with <see cref="ExitInvalidConfiguration"/> and one line
/// naming the key (the systemd units do not restart on that code: a restart cannot fix it).
/// </summary>
public static class HostRunner
{
    public const int ExitInvalidConfiguration = 2;

    /// <summary>
    /// A Generic Host reading appsettings.json beside the executable, environment variables (Node__Id) and the
    /// command line (--Node:Id), run as a systemd notify service with its watchdog. The caller adds its services.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        // No file watcher on appsettings.json: options are read once at start (a change needs a restart anyway),
        // and a watcher costs a thread and inotify on a Pi for nothing.
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection([new KeyValuePair<string, string?>("hostBuilder:reloadConfigOnChange", "false")]);
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            Configuration = configuration,
        });
        builder.Services.AddSystemd();
        builder.Services.AddSystemdWatchdog();
        return builder;
    }

    public static async Task<int> RunAsync(IHost host, TextWriter error, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(error);

        // host.RunAsync would dispose the services before the error could be traced back to its key.
        try
        {
            // Unknown keys first: the generated binder (the node's) ignores sub-keys of a value (Mqtt:ClientId:Prefix),
            // which the reflection binder refused, so the walk over the options types is the one check for both.
            if (StrictConfiguration.FindAll(host.Services) is { Count: > 0 } unknown)
            {
                throw new InvalidConfigurationException(string.Join("; ", unknown.Select(u => $"{u.Path}: unknown key")));
            }

            // Bound and validated before the host starts, so the host does not log the error with its stack trace too.
            host.Services.GetService<IStartupValidator>()?.Validate();
            await host.StartAsync(ct);
            await host.WaitForShutdownAsync(ct);
            return 0;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Asked to stop while still starting: a normal stop, not a failure.
            return 0;
        }
        catch (Exception e) when (Describe(e, host.Services) is { } problem)
        {
            return await ReportAsync(problem, error);
        }
        finally
        {
            if (host is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
            else
            {
                host.Dispose();
            }
        }
    }

    /// <summary>Writes the one line about <paramref name="problem"/> (from <see cref="Describe"/>) and returns <see cref="ExitInvalidConfiguration"/>.</summary>
    public static async Task<int> ReportAsync(string problem, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        await error.WriteLineAsync($"invalid configuration: {problem}");
        return ExitInvalidConfiguration;
    }

    /// <summary>
    /// What is wrong with the configuration, on one line starting with the key, when <paramref name="e"/> is a
    /// configuration error; null for any other exception. <paramref name="services"/> must not be disposed yet.
    /// </summary>
    public static string? Describe(Exception e, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(services);
        switch (e)
        {
            case OptionsValidationException v:
                return string.Join("; ", v.Failures);
            case AggregateException a when a.InnerExceptions.All(i => i is OptionsValidationException):
                // The start-up validator throws one of these when more than one section fails.
                return string.Join("; ", a.InnerExceptions.SelectMany(i => ((OptionsValidationException)i).Failures));
            case InvalidConfigurationException c:
                return c.Message;
            case InvalidOperationException:
                return DescribeBinderError(e, services);
            default:
                return null;
        }
    }

    private static string? DescribeBinderError(Exception e, IServiceProvider services)
    {
        // The binder wraps an error inside a list entry; the innermost of its own messages is the precise one.
        List<Exception> chain = [];
        for (Exception? x = e; x is InvalidOperationException; x = x.InnerException)
        {
            chain.Add(x);
        }

        // "Failed to convert configuration value 'soon' at 'Node:Sensors:0:Interval' to type 'System.TimeSpan'."
        if (chain.LastOrDefault(x => x.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal)) is { } conversion)
        {
            return conversion.Message;
        }

        // A value given sub-keys (Mqtt:Broker:Host) fails as an object the binder cannot create.
        bool unknownKey = chain.Any(x => x.Message.StartsWith(StrictConfiguration.BinderMessageStart, StringComparison.Ordinal));
        bool notAnObject = chain.Any(x => x.Message.StartsWith("Cannot create instance of type", StringComparison.Ordinal));
        if (!unknownKey && !notAnObject)
        {
            return null;
        }

        // The binder names the type and the key, not where they are: find the full keys.
        List<UnknownKey> unknown = StrictConfiguration.FindAll(services);
        if (unknown.Count > 0)
        {
            return string.Join("; ", unknown.Select(u => $"{u.Path}: unknown key"));
        }

        return unknownKey ? chain[^1].Message : null;
    }
}
