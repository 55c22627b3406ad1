using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway.Alerts;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Gateway.Alerts.Feed;
using SensorKit.Gateway.Broker;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Fleet;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Http;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Outputs.OpenData;
using SensorKit.Gateway.Rules;
using SensorKit.Gateway.Outputs.StatusPage;
using SensorKit.Hosting;
using SensorKit.Gateway.State;
using SensorKit.Gateway.Storage;
using SensorKit.Gateway.Storage.Group;

namespace SensorKit.Gateway;

/// <summary>Builds and runs the gateway: broker → ingest → rules → alerts.</summary>
public static class GatewayHost
{
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        HostApplicationBuilder builder = HostRunner.CreateBuilder(args);
        builder.Services.AddSensorKitGateway();
        return builder;
    }

    public static IServiceCollection AddSensorKitGateway(this IServiceCollection services)
    {
        services.AddOptions<BrokerOptions>().BindStrictly(BrokerOptions.Section).ValidateOnStart();
        services.AddOptions<RulesOptions>().BindStrictly(RulesOptions.Section, RuleCatalog.EntryName).ValidateOnStart();
        services.AddOptions<CapOptions>().BindStrictly(CapOptions.Section).ValidateOnStart();
        services.AddOptions<CapFeedOptions>().BindStrictly(CapFeedOptions.Section).ValidateOnStart();
        services.AddOptions<StateOptions>().BindStrictly(StateOptions.Section).ValidateOnStart();
        services.AddOptions<HistoryOptions>().BindStrictly(HistoryOptions.Section).ValidateOnStart();
        services.AddOptions<GroupOptions>().BindStrictly(GroupOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GroupOptions>, GroupOptionsValidator>();
        services.AddSingleton<IValidateOptions<BrokerOptions>, BrokerOptionsValidator>();
        services.AddSingleton<IValidateOptions<RulesOptions>, RulesOptionsValidator>();
        services.AddSingleton<IValidateOptions<CapOptions>, CapOptionsValidator>();
        services.AddSingleton<IValidateOptions<CapFeedOptions>, CapFeedOptionsValidator>();
        services.AddSingleton<IValidateOptions<StateOptions>, StateOptionsValidator>();
        services.AddSingleton<IValidateOptions<HistoryOptions>, HistoryOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton(sp => RuleCatalog.Create(sp.GetRequiredService<IOptions<RulesOptions>>(), sp.GetRequiredService<IHostEnvironment>()));
        // Alone, every site is this gateway's (SoleGateway); a group member's are those it holds by lease.
        services.AddGatewayGroup();
        services.AddSingleton<IAlertStore>(sp => sp.GetRequiredService<IOptions<StateOptions>>().Value.Provider == StateProvider.PostgreSql
            ? ActivatorUtilities.CreateInstance<PostgresAlertStore>(sp)
            : ActivatorUtilities.CreateInstance<SqliteAlertStore>(sp));
        services.AddSingleton<INodeStatusStore>(sp => sp.GetRequiredService<IAlertStore>());
        services.AddSingleton<IRuleStateStore>(sp => sp.GetRequiredService<IAlertStore>());
        services.AddSingleton<NodeDirectory>();
        services.AddSingleton<IFleet>(sp => sp.GetRequiredService<NodeDirectory>());
        services.AddSingleton<AlertPublisher>();
        services.AddSingleton<IMqttOutbound>(sp => sp.GetRequiredService<AlertPublisher>());
        // Alert sinks: each gets every message the lifecycle publishes, after the state store took the step.
        services.AddSingleton<IAlertMessageSink>(sp => sp.GetRequiredService<AlertPublisher>());
        services.AddSingleton(CapSigner.Create);

        // The feed's own address is asked for late: with CapFeed:Port 0 it is known only once the feed listens.
        services.AddSingleton(sp => new CapWebLinks(
            sp.GetRequiredService<IOptions<CapOptions>>(),
            sp.GetRequiredService<IOptions<CapFeedOptions>>(),
            () => sp.GetRequiredService<GatewayHttpEndpoint>().BaseAddress));
        services.AddSingleton<CapMessageFactory>();
        services.AddSingleton(sp => new AlertLifecycle(
            sp.GetRequiredService<IAlertStore>(),
            sp.GetServices<IAlertMessageSink>(),
            sp.GetRequiredService<CapMessageFactory>(),
            sp.GetRequiredService<ISiteOwnership>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AlertLifecycle>>()));
        services.AddSingleton<IAlertSink>(sp => sp.GetRequiredService<AlertLifecycle>());
        services.AddSingleton<RuleEngine>();
        services.AddSingleton<ITelemetryEvaluator>(sp => sp.GetRequiredService<RuleEngine>());
        services.AddSingleton<IAlertCommands>(sp => sp.GetRequiredService<RuleEngine>());
        // Telemetry consumers beside the rules: each gets every validated window (Contracts: ITelemetryConsumer).
        services.AddSingleton<ITelemetryHistory>(sp =>
        {
            StateOptions state = sp.GetRequiredService<IOptions<StateOptions>>().Value;
            HistoryOptions history = sp.GetRequiredService<IOptions<HistoryOptions>>().Value;
            TimeProvider time = sp.GetRequiredService<TimeProvider>();
            return state.Provider == StateProvider.PostgreSql
                ? new PostgresTelemetryHistory(state, history, time, sp.GetRequiredService<ILogger<PostgresTelemetryHistory>>())
                : new SqliteTelemetryHistory(
                    Path.Combine(state.ResolveDirectory(sp.GetRequiredService<IHostEnvironment>().ContentRootPath), SqliteTelemetryHistory.FileName),
                    history,
                    time,
                    sp.GetRequiredService<ILogger<SqliteTelemetryHistory>>());
        });
        services.AddSingleton<HistoryRecorder>();
        services.AddSingleton<ITelemetryConsumer>(sp => sp.GetRequiredService<HistoryRecorder>());
        services.AddSingleton<TelemetryIngest>();
        services.AddSingleton<IBrokerIntake>(sp => sp.GetRequiredService<TelemetryIngest>());
        services.AddSingleton<GatewayConnection>();
        services.AddSingleton<AlertingService>();

        // The one HTTP host, and the outputs that plug endpoints into it: one line per output.
        services.AddSingleton<GatewayHttpEndpoint>();
        services.AddSingleton<GatewayHttpHost>();
        services.AddGatewayOutput<CapFeedServer>();
        services.AddOpenData();
        services.AddStatusPage();

        // Order matters: the history's journal opens before anything can arrive and closes after the broker stopped,
        // the broker must listen before the gateway's client connects to it, and the alert state must be restored
        // before the first message is taken.
        services.AddHostedService(sp => sp.GetRequiredService<HistoryRecorder>());
        services.AddSingleton<BrokerAuthorization>();
        services.AddSingleton<EmbeddedBroker>();
        services.AddSingleton<IGatewayPublisher>(sp => sp.GetRequiredService<EmbeddedBroker>());
        services.AddSingleton(sp => BrokerEndpoint.From(sp.GetRequiredService<IOptions<BrokerOptions>>().Value));
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedBroker>());
        services.AddHostedService(sp => sp.GetRequiredService<AlertingService>());
        services.AddHostedService(sp => sp.GetRequiredService<GatewayConnection>());
        // A group member's lease loop (docs/scale-out.md) starts after the alert connection and stops before it, so
        // the last steps of the sites it hands over still go out.
        services.AddHostedService<GroupMembership>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayHttpHost>());
        return services;
    }

    /// <summary>Runs the host; a configuration error ends it with exit code 2 and one line naming the key.</summary>
    public static Task<int> RunAsync(IHost host, TextWriter error, CancellationToken ct = default) => HostRunner.RunAsync(host, error, ct);
}
