using Npgsql;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>State:Provider, State:ConnectionString and State:PasswordFile: checked at start, errors naming the key and never the password.</summary>
public sealed class StateConfigurationTests(PostgresServer postgres)
{
    private const string Password = "hunter2-secret";

    [Theory]
    [InlineData("PostgreSql", null, "invalid configuration: State:ConnectionString: required with State:Provider PostgreSql")]
    [InlineData("PostgreSql", "Host=127.0.0.1;Pasword=" + Password, "invalid configuration: State:ConnectionString: not an Npgsql connection string (cannot set 'pasword': an unknown keyword or a value of the wrong form)")]
    [InlineData("PostgreSql", "Host=127.0.0.1;Port=eighty;Password=" + Password, "invalid configuration: State:ConnectionString: not an Npgsql connection string (cannot set 'port': an unknown keyword or a value of the wrong form)")]
    [InlineData("PostgreSql", "Database=sensorkit;Password=" + Password, "invalid configuration: State:ConnectionString: names no Host")]
    [InlineData(null, "Host=127.0.0.1;Password=" + Password, "invalid configuration: State:ConnectionString: only with State:Provider PostgreSql")]
    [InlineData("Oracle", null, "invalid configuration: Failed to convert configuration value 'Oracle' at 'State:Provider'")]
    public async Task A_bad_state_setting_stops_the_gateway_with_one_line_naming_the_key(string? provider, string? connectionString, string expected)
    {
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["State:Provider"] = provider;
        config["State:ConnectionString"] = connectionString;

        (int code, string error) = await ConfigurationRun.GatewayAsync(config);

        ConfigurationRun.AssertOutcome((code, error), expected);
        Assert.DoesNotContain(Password, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_file_must_exist_and_is_refused_beside_a_password_in_the_connection_string()
    {
        string missing = Path.Combine(TestDirectories.Create("state-password"), "missing");
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["State:Provider"] = "PostgreSql";
        config["State:ConnectionString"] = "Host=127.0.0.1;Database=sensorkit";
        config["State:PasswordFile"] = missing;
        ConfigurationRun.AssertOutcome(await ConfigurationRun.GatewayAsync(config), $"invalid configuration: State:PasswordFile: '{missing}' does not exist");

        config["State:ConnectionString"] = $"Host=127.0.0.1;Database=sensorkit;Password={Password}";
        (int code, string error) = await ConfigurationRun.GatewayAsync(config);
        ConfigurationRun.AssertOutcome((code, error), "invalid configuration: State:PasswordFile: the connection string holds a password already");
        Assert.DoesNotContain(Password, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_starts_on_PostgreSQL_with_its_password_from_a_file()
    {
        string database = await postgres.CreateDatabaseAsync();
        string passwordFile = Path.Combine(TestDirectories.Create("state-password"), "password");
        await File.WriteAllTextAsync(passwordFile, Password + "\n", TestContext.Current.CancellationToken);
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["State:Provider"] = "PostgreSql";
        config["State:ConnectionString"] = database;
        config["State:PasswordFile"] = passwordFile;

        ConfigurationRun.AssertOutcome(await ConfigurationRun.GatewayAsync(config), null);

        // Both the alert state and the history made their tables there.
        await using var c = new NpgsqlConnection(database);
        await c.OpenAsync(TestContext.Current.CancellationToken);
        await using var tables = new NpgsqlCommand("SELECT string_agg(table_schema || '.' || table_name, ',' ORDER BY table_schema, table_name) FROM information_schema.tables WHERE table_name IN ('alerts', 'site_leases', 'windows')", c);
        Assert.Equal("history.windows,public.alerts,public.site_leases", await tables.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_database_that_does_not_exist_stops_the_gateway_with_one_line_naming_the_connection_string()
    {
        string database = new NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync()) { Database = "no_such_database", Password = Password }.ConnectionString;
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["State:Provider"] = "PostgreSql";
        config["State:ConnectionString"] = database;

        (int code, string error) = await ConfigurationRun.GatewayAsync(config);

        ConfigurationRun.AssertOutcome((code, error), $"invalid configuration: State:ConnectionString: PostgreSQL 127.0.0.1:{postgres.Port}/no_such_database: database \"no_such_database\" does not exist");
        Assert.DoesNotContain(Password, error, StringComparison.Ordinal);
    }
}
