using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace SensorKit.Hosting;

/// <summary>
/// Keeps systemd's watchdog fed: when the unit sets <c>WatchdogSec=</c>, systemd passes the timeout in
/// <c>WATCHDOG_USEC</c> and kills and restarts a service that stays silent for that long
/// (systemd.service(5)). This sends <c>WATCHDOG=1</c> at half that interval, as sd_watchdog_enabled(3)
/// recommends. READY=1 comes from <c>AddSystemd()</c>'s lifetime once the host has started.
/// Outside systemd, or without a watchdog, it does nothing.
/// </summary>
public sealed partial class SystemdWatchdog : BackgroundService
{
    private static readonly ServiceState Ping = new("WATCHDOG=1");

    private readonly ISystemdNotifier? _notifier;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public SystemdWatchdog(TimeProvider time, ILogger<SystemdWatchdog> logger, ISystemdNotifier? notifier = null)
        : this(notifier, time, logger, PingInterval(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID"), Environment.ProcessId))
    {
    }

    internal SystemdWatchdog(ISystemdNotifier? notifier, TimeProvider time, ILogger logger, TimeSpan? interval)
    {
        _notifier = notifier;
        _time = time;
        _logger = logger;
        Interval = interval;
    }

    /// <summary>How often this process pings; null when no watchdog is set for it.</summary>
    public TimeSpan? Interval { get; }

    /// <summary>
    /// Half of <c>WATCHDOG_USEC</c>, or null when it is unset or malformed, or when <c>WATCHDOG_PID</c>
    /// names another process (a child that inherited the variables must not ping for its parent).
    /// </summary>
    public static TimeSpan? PingInterval(string? watchdogUsec, string? watchdogPid, int processId)
    {
        if (!long.TryParse(watchdogUsec, NumberStyles.None, CultureInfo.InvariantCulture, out long usec) || usec <= 0)
        {
            return null;
        }

        if (!string.IsNullOrEmpty(watchdogPid)
            && (!int.TryParse(watchdogPid, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid != processId))
        {
            return null;
        }

        return TimeSpan.FromMicroseconds(usec / 2);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_notifier is not { IsEnabled: true } notifier || Interval is not { } interval)
        {
            return;
        }

        LogPinging(interval.TotalSeconds);
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            do
            {
                notifier.Notify(Ping);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: systemd stops watching once the service reports STOPPING=1.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "systemd watchdog enabled: pinging every {Seconds} s")]
    private partial void LogPinging(double seconds);
}

public static class SystemdWatchdogExtensions
{
    /// <summary>Adds <see cref="SystemdWatchdog"/>; call after <c>AddSystemd()</c>, which registers the notifier under systemd.</summary>
    public static IServiceCollection AddSystemdWatchdog(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddHostedService<SystemdWatchdog>();
        return services;
    }
}
