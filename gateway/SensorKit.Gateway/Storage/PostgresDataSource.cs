using Npgsql;

namespace SensorKit.Gateway.Storage;

/// <summary>The one pooled connection source to the PostgreSQL of State:ConnectionString, with the password from State:PasswordFile.</summary>
internal static class PostgresDataSource
{
    public static NpgsqlDataSource Create(StateOptions options)
    {
        var builder = new NpgsqlDataSourceBuilder(options.ConnectionString ?? throw new GatewayConfigurationException($"{StateOptions.Section}:ConnectionString: required for State:Provider PostgreSql"));
        if (options.PasswordFile is { } file)
        {
            builder.ConnectionStringBuilder.Password = File.ReadAllText(file).TrimEnd('\r', '\n');
        }

        return builder.Build();
    }
}
