using System.CommandLine;
using Microsoft.Extensions.Configuration;

namespace SensorKit.Gateway.Broker.Accounts;

/// <summary>
/// <c>sensorkit-gateway accounts add|remove|list|export</c>: provisioning of broker accounts. Exit codes: 0 done,
/// 1 refused (an account exists already, a name is taken), 2 bad arguments or an unusable accounts file.
/// </summary>
public static class AccountsCommand
{
    public static bool Handles(string[] args) => args is ["accounts", ..];

    /// <summary>The gateway's own configuration (appsettings.json beside the executable, then environment), for Broker:AccountsFile.</summary>
    public static IConfiguration DefaultConfiguration() => new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
        .AddEnvironmentVariables()
        .Build();

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration, TextWriter output, TextWriter error)
    {
        var accountsFile = new Option<string>("--accounts-file")
        {
            Description = "The accounts file; default: Broker:AccountsFile of the gateway's configuration",
            Recursive = true,
        };
        var name = new Argument<string>("name") { Description = "Account name (the MQTT user name), e.g. river-3" };
        var site = new Option<string>("--site") { Description = "Node accounts: the node's site (Node:Site)" };
        var node = new Option<string>("--node") { Description = "Node accounts: the node id (Node:Id); default: the account name" };
        var role = new Option<string>("--role") { Description = "node (default), gateway or subscriber", DefaultValueFactory = _ => "node" };
        role.AcceptOnlyFromAmong("node", "gateway", "subscriber");
        var credentialFile = new Option<string>("--credential-file")
        {
            Description = "Write the new password to this file (created with mode 0600) instead of standard output",
        };
        var passwordFile = new Option<string>("--password-file") { Description = "Mosquitto password_file to write" };
        var aclFile = new Option<string>("--acl-file") { Description = "Mosquitto acl_file to write" };

        var add = new Command("add", "Create an account with a new random password, shown once") { name, site, node, role, credentialFile };
        add.SetAction(r => Run(r, error, file => Add(file, r.GetValue(name)!, r.GetValue(role)!, r.GetValue(site), r.GetValue(node), r.GetValue(credentialFile), output, error)));
        var removeName = new Argument<string>("name") { Description = "Account name" };
        var remove = new Command("remove", "Delete an account; its client is refused from its next connection") { removeName };
        remove.SetAction(r => Run(r, error, file => Remove(file, r.GetValue(removeName)!, error)));
        var list = new Command("list", "Show the accounts, their roles and client ids");
        list.SetAction(r => Run(r, error, file => List(file, output)));
        var export = new Command("export", "Write Mosquitto's password_file and acl_file for the same accounts") { passwordFile, aclFile };
        export.SetAction(r => Run(r, error, file => Export(file, r.GetValue(passwordFile), r.GetValue(aclFile), error)));

        var accounts = new Command("accounts", "Broker accounts of nodes, gateways and subscribers") { accountsFile, add, remove, list, export };
        var root = new RootCommand("SensorKit gateway; without a command it runs the gateway") { accounts };

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (System.CommandLine.Parsing.ParseError e in parsed.Errors)
            {
                await error.WriteLineAsync($"sensorkit-gateway: {e.Message}");
            }

            return 2;
        }

        int code = await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error });

        int Run(ParseResult r, TextWriter err, Func<string, int> action)
        {
            string? file = r.GetValue(accountsFile) ?? configuration[$"{BrokerOptions.Section}:AccountsFile"];
            if (string.IsNullOrEmpty(file))
            {
                err.WriteLine($"sensorkit-gateway: no accounts file: pass --accounts-file FILE or set {BrokerOptions.Section}:AccountsFile in the gateway's configuration");
                return 2;
            }

            try
            {
                return action(file);
            }
            catch (AccountException e)
            {
                err.WriteLine($"sensorkit-gateway: {e.Message}");
                // A damaged accounts file names itself first; anything else is a refused request.
                return e.Message.StartsWith(file, StringComparison.Ordinal) ? 2 : 1;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                err.WriteLine($"sensorkit-gateway: {e.Message}");
                return 2;
            }
        }

        return code;
    }

    private static AccountRegistry Open(string file) => File.Exists(file) ? AccountRegistry.Load(file) : AccountRegistry.Empty;

    private static int Add(string file, string name, string roleText, string? site, string? node, string? credentialFile, TextWriter output, TextWriter error)
    {
        if (!Account.TryParseRole(roleText, out AccountRole role))
        {
            error.WriteLine($"sensorkit-gateway: --role '{roleText}' is not one of node, gateway, subscriber");
            return 2;
        }

        if (role == AccountRole.Node && string.IsNullOrEmpty(site))
        {
            error.WriteLine("sensorkit-gateway: a node account needs --site (the node's Node:Site)");
            return 2;
        }

        if (role != AccountRole.Node && (site is not null || node is not null))
        {
            error.WriteLine("sensorkit-gateway: --site and --node are for node accounts only");
            return 2;
        }

        string password = PasswordHash.NewPassword();
        var account = new Account(name, role, role == AccountRole.Node ? site : null, role == AccountRole.Node ? node ?? name : null, PasswordHash.Create(password));
        AccountRegistry registry = Open(file).With(account);
        if (credentialFile is not null)
        {
            WriteSecret(credentialFile, password);
        }

        registry.Save(file);
        string what = role == AccountRole.Node ? $"node account '{name}' for {account.Site}/{account.Node}" : $"{Account.RoleName(role)} account '{name}'";
        error.WriteLine($"Added {what} to {Path.GetFullPath(file)}.");
        if (credentialFile is null)
        {
            output.WriteLine(password);
            error.WriteLine("Its password is on standard output, shown this once and stored nowhere but as a hash: save it, alone, as the client's password file.");
        }
        else
        {
            error.WriteLine($"Its password is in {credentialFile} (mode 0600) and stored nowhere else but as a hash.");
        }

        if (role == AccountRole.Node)
        {
            error.WriteLine($"On the node: Mqtt:Username {name}, Mqtt:PasswordFile that file (install.sh --mqtt-username {name} --mqtt-password-file FILE), " +
                $"Node:Site {account.Site}, Node:Id {account.Node}; client id {account.NodeClientId} (the default) or {name}.");
        }
        else
        {
            error.WriteLine($"Its client id must be '{name}' on the embedded broker (or empty with MQTT 5, to be assigned one).");
        }

        error.WriteLine("The embedded broker uses it from the next connection on; for Mosquitto run 'accounts export' again and reload Mosquitto.");
        return 0;
    }

    private static int Remove(string file, string name, TextWriter error)
    {
        Open(file).Without(name).Save(file);
        error.WriteLine($"Removed account '{name}' from {Path.GetFullPath(file)}; for Mosquitto run 'accounts export' again and reload Mosquitto.");
        return 0;
    }

    private static int List(string file, TextWriter output)
    {
        output.WriteLine($"{"name",-24} {"role",-10} {"site/node",-32} client id");
        foreach (Account a in Open(file).Accounts)
        {
            string where = a.Role == AccountRole.Node ? $"{a.Site}/{a.Node}" : "-";
            string clientId = a.Role == AccountRole.Node ? $"{a.NodeClientId} or {a.Name}" : a.Name;
            output.WriteLine($"{a.Name,-24} {Account.RoleName(a.Role),-10} {where,-32} {clientId}");
        }

        return 0;
    }

    private static int Export(string file, string? passwordFile, string? aclFile, TextWriter error)
    {
        if (passwordFile is null && aclFile is null)
        {
            error.WriteLine("sensorkit-gateway: accounts export needs --password-file FILE, --acl-file FILE or both");
            return 2;
        }

        AccountRegistry registry = Open(file);
        if (passwordFile is not null)
        {
            WriteAtomically(passwordFile, MosquittoExport.PasswordFile(registry));
            error.WriteLine($"Wrote {registry.Accounts.Count} accounts to {passwordFile} (Mosquitto password_file).");
        }

        if (aclFile is not null)
        {
            WriteAtomically(aclFile, MosquittoExport.AclFile(registry));
            error.WriteLine($"Wrote their topic rights to {aclFile} (Mosquitto acl_file).");
        }

        return 0;
    }

    private static void WriteSecret(string path, string password)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using var w = new StreamWriter(path, System.Text.Encoding.UTF8, options);
            w.Write(password);
            w.Write('\n');
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new AccountException($"--credential-file {path} exists already; it is never overwritten", e);
        }
    }

    private static void WriteAtomically(string path, string text)
    {
        string tmp = $"{Path.GetFullPath(path)}.{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Mosquitto reads it as its own user: give the file to its group (chgrp mosquitto), see docs/security.md.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        }

        using (var w = new StreamWriter(tmp, new System.Text.UTF8Encoding(false), options))
        {
            w.Write(text);
        }

        File.Move(tmp, path, overwrite: true);
    }
}
