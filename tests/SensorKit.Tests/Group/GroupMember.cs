using System.Globalization;

namespace SensorKit.Tests.Group;

/// <summary>How the group tests and the group load commands run one member: the gateway executable's arguments, and what its log says it serves.</summary>
internal static class GroupMember
{
    /// <summary>The threshold rule every member runs: temperature above 30 raises, above 40 is the second stage.</summary>
    public const string Rule = "flood";

    /// <param name="member">The member's name (Group:Member).</param>
    /// <param name="brokerPort">The Mosquitto all members share.</param>
    /// <param name="connectionString">The PostgreSQL database all members share.</param>
    /// <param name="sites">Group:Sites, the same for every member.</param>
    /// <param name="stateDirectory">A folder of its own per member (the CAP signing key, the history journal).</param>
    /// <param name="lease">Group:LeaseTime.</param>
    /// <param name="renew">Group:RenewInterval.</param>
    /// <param name="extra">More arguments, e.g. the rule's scope or the CAP signing files.</param>
    public static List<string> Arguments(string member, int brokerPort, string connectionString, IReadOnlyList<string> sites, string stateDirectory, TimeSpan lease, TimeSpan renew, params string[] extra)
    {
        var args = new List<string>
        {
            "--Broker:Mode", "External",
            "--Broker:Uri", $"mqtt://127.0.0.1:{brokerPort}",
            "--State:Provider", "PostgreSql",
            "--State:ConnectionString", connectionString,
            "--State:Directory", Path.Combine(stateDirectory, member),
            "--Group:Member", member,
            "--Group:LeaseTime", lease.ToString("c", CultureInfo.InvariantCulture),
            "--Group:RenewInterval", renew.ToString("c", CultureInfo.InvariantCulture),
            "--CapFeed:Enabled", "false",
            "--Cap:Web", "https://warnings.example/alerts/{alertId}",
            "--Rules:Threshold:0:Id", Rule,
            "--Rules:Threshold:0:Quantity", "temperature",
            "--Rules:Threshold:0:Above", "30",
            // One window decides, so each step of a run is one message.
            "--Rules:Threshold:0:MinWindows", "1",
            "--Rules:Threshold:0:Stages:0:Above", "40",
            "--Rules:Threshold:0:Stages:0:Severity", "Severe",
            "--Logging:LogLevel:Default", "Warning",
            "--Logging:LogLevel:SensorKit.Gateway.GatewayGroup", "Information",
            "--Logging:LogLevel:SensorKit.Gateway.Connection.SiteSessions", "Information",
        };
        for (int i = 0; i < sites.Count; i++)
        {
            args.AddRange([$"--Group:Sites:{i}", sites[i]]);
        }

        args.AddRange(extra);
        return args;
    }

    /// <summary>
    /// True once the member's log says its session for <paramref name="site"/> subscribed after its latest take of
    /// the site, and it has not let go of it since (before that, the broker has no session to queue the site's messages in).
    /// </summary>
    public static bool Serves(string output, string site)
    {
        int took = output.LastIndexOf($"Group: took site {site} ", StringComparison.Ordinal);
        int letGo = output.LastIndexOf($"Group: let go of site {site} ", StringComparison.Ordinal);
        return took > letGo && output.IndexOf($"Site {site}: session on", took, StringComparison.Ordinal) > took;
    }
}
