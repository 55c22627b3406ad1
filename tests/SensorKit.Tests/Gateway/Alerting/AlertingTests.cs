using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Alerting;

/// <summary>
/// The base of the alerting test classes: where the gateways they start keep their state. SQLite in the class
/// itself; a class derived with <see cref="Postgres"/> set runs every test of its base again on PostgreSQL state,
/// each gateway on a database of its own (a restart on the one before it).
/// </summary>
public abstract class AlertingTests : IAsyncLifetime
{
    /// <summary>The server of the PostgreSQL runs; null: SQLite.</summary>
    protected virtual PostgresServer? Postgres => null;

    public ValueTask InitializeAsync() => Postgres is { } server ? new(server.EnsureStartedAsync()) : ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>A gateway on fresh state (AlertingHarness.Start).</summary>
    private protected AlertingHarness Start(string rulesJson, Dictionary<string, string?>? config = null, DateTimeOffset? start = null)
    {
        if (Postgres is not { } server)
        {
            return AlertingHarness.Start(rulesJson, config, start);
        }

        var settings = new Dictionary<string, string?>(config ?? [])
        {
            ["State:Provider"] = "PostgreSql",
            ["State:ConnectionString"] = server.CreateDatabase(),
        };
        return AlertingHarness.Start(rulesJson, settings, start);
    }
}
