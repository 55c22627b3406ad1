using Npgsql;

namespace SensorKit.Tests.Support;

/// <summary>The PostgreSQL fixture itself: a database per test, and a restart that keeps the data and the port.</summary>
public sealed class PostgresServerTests
{
    [Fact]
    public async Task A_stopped_server_starts_again_on_the_same_port_with_its_data()
    {
        await using PostgresServer server = await PostgresServer.StartNewAsync();
        string database = server.CreateDatabase();
        int port = server.Port;
        Execute(database, "CREATE TABLE kept (v integer); INSERT INTO kept VALUES (42)");

        await server.StopAsync();
        Assert.ThrowsAny<NpgsqlException>(() => Execute(database, "SELECT 1"));
        await server.StartAsync();

        Assert.Equal(port, server.Port);
        Assert.Equal(42, Execute(database, "SELECT v FROM kept"));
        Assert.NotEqual(database, server.CreateDatabase());
    }

    private static object? Execute(string connectionString, string sql)
    {
        using var c = new NpgsqlConnection(connectionString + ";Pooling=false");
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        return cmd.ExecuteScalar();
    }
}
