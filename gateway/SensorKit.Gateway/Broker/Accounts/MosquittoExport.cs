using System.Text;

namespace SensorKit.Gateway.Broker.Accounts;

/// <summary>
/// The accounts as Mosquitto's password_file and acl_file, with the rights the embedded broker enforces
/// (BrokerAuthorization). Mosquitto checks write rights on every PUBLISH and will, and read rights on every
/// delivery; docs/security.md lists what the files alone cannot do (client-id binding).
/// </summary>
public static class MosquittoExport
{
    /// <summary><c>user:$7$…</c> lines: Mosquitto 2 reads the hashes as they are.</summary>
    public static string PasswordFile(AccountRegistry registry)
    {
        var b = new StringBuilder();
        foreach (Account a in registry.Accounts)
        {
            b.Append(a.Name).Append(':').Append(a.PasswordHash).Append('\n');
        }

        return b.ToString();
    }

    public static string AclFile(AccountRegistry registry)
    {
        var b = new StringBuilder();
        b.Append("# Written by sensorkit-gateway accounts export; changes here are lost at the next export.\n");
        b.Append("# Lines before the first 'user' apply to anonymous clients (allow_anonymous true): read only.\n");
        foreach (string filter in Account.ReadOnlyFilters)
        {
            b.Append("topic read ").Append(filter).Append('\n');
        }

        foreach (Account a in registry.Accounts)
        {
            b.Append('\n').Append("# ").Append(Account.RoleName(a.Role));
            if (a.Role == AccountRole.Node)
            {
                b.Append(' ').Append(a.Site).Append('/').Append(a.Node).Append(", client id ").Append(a.NodeClientId);
            }

            b.Append('\n').Append("user ").Append(a.Name).Append('\n');
            foreach (string filter in a.ReadFilters)
            {
                b.Append("topic read ").Append(filter).Append('\n');
            }

            foreach (string filter in a.WriteFilters)
            {
                b.Append("topic write ").Append(filter).Append('\n');
            }

            if (a.ReadFilters.Count == 0 && a.WriteFilters.Count == 0)
            {
                // A user without topic lines has no rights at all; say so for the reader.
                b.Append("# no topics\n");
            }
        }

        return b.ToString();
    }
}
