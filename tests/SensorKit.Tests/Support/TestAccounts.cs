using System.Collections.Concurrent;
using SensorKit.Gateway.Broker.Accounts;

namespace SensorKit.Tests.Support;

internal sealed record TestAccount(string Name, string Password, string PasswordFile, string ClientId);

/// <summary>
/// Broker accounts for test gateways, as `sensorkit-gateway accounts add` makes them: one accounts file per
/// gateway port (<see cref="Hosts.GatewayConfig"/> points Broker:AccountsFile at it), and a password file per
/// account. The embedded broker reads the file again when it changes, so accounts added after start work.
/// </summary>
internal static class TestAccounts
{
    private static readonly ConcurrentDictionary<int, string> Files = new();
    private static readonly ConcurrentDictionary<string, TestAccount> Known = new(StringComparer.Ordinal);

    /// <summary>The accounts file of the gateway on <paramref name="port"/>; created empty on first use.</summary>
    public static string FileFor(int port) => Files.GetOrAdd(port, p =>
    {
        string file = Path.Combine(TestDirectories.Create($"accounts-{p}"), "accounts.json");
        AccountRegistry.Empty.Save(file);
        return file;
    });

    public static bool HasFile(int port) => Files.ContainsKey(port);

    /// <summary>The node account of site/node at the gateway on <paramref name="port"/>, created on first use.</summary>
    public static TestAccount Node(int port, string site, string node) =>
        Add(port, $"{site}.{node}", AccountRole.Node, site, node);

    public static TestAccount Add(int port, string name, AccountRole role, string? site = null, string? node = null)
    {
        string file = FileFor(port);
        lock (file)
        {
            if (Known.TryGetValue($"{file}|{name}", out TestAccount? known))
            {
                return known;
            }

            string password = PasswordHash.NewPassword();
            var account = new Account(name, role, site, node, PasswordHash.Create(password));
            AccountRegistry.Load(file).With(account).Save(file);
            string passwordFile = Path.Combine(Path.GetDirectoryName(file)!, $"{name}.password");
            File.WriteAllText(passwordFile, password + "\n");
            var created = new TestAccount(name, password, passwordFile, account.NodeClientId ?? name);
            Known[$"{file}|{name}"] = created;
            return created;
        }
    }
}
