using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway.Alerting;

// The alerting tests again, with the gateways' state in PostgreSQL (a database per gateway on the fixture's server).

public sealed class AlertLifecycleOnPostgresTests(PostgresServer postgres) : AlertLifecycleTests
{
    protected override PostgresServer? Postgres => postgres;
}

public sealed class CapQualityOnPostgresTests(PostgresServer postgres) : CapQualityTests
{
    protected override PostgresServer? Postgres => postgres;
}

public sealed class CorroborationAndOperatorOnPostgresTests(PostgresServer postgres) : CorroborationAndOperatorTests
{
    protected override PostgresServer? Postgres => postgres;
}

public sealed class MalformedInputOnPostgresTests(PostgresServer postgres) : MalformedInputTests
{
    protected override PostgresServer? Postgres => postgres;
}

public sealed class RuleBehaviourOnPostgresTests(PostgresServer postgres) : RuleBehaviourTests
{
    protected override PostgresServer? Postgres => postgres;
}

public sealed class RuleDefaultsOnPostgresTests(PostgresServer postgres) : RuleDefaultsTests
{
    protected override PostgresServer? Postgres => postgres;
}

public sealed class ScenarioReplayOnPostgresTests(PostgresServer postgres) : ScenarioReplayTests
{
    protected override PostgresServer? Postgres => postgres;
}
