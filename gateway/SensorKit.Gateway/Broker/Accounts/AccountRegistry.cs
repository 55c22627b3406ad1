using System.Text.Json;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Broker.Accounts;

/// <summary>
/// The broker accounts, as kept in the accounts file (Broker:AccountsFile), a JSON document:
/// <code>{ "accounts": [ { "name": "river-3", "role": "node", "site": "rhine-cologne", "node": "river-3", "password": "$7$…" } ] }</code>
/// Immutable: <see cref="With"/> and <see cref="Without"/> return a new registry, so the broker can swap
/// in a reloaded one while clients are being checked against the old one.
/// </summary>
public sealed class AccountRegistry
{
    /// <summary>Client ids the broker assigns or keeps for itself; no account may claim one (MQTT 5.0 §3.1.3.1 lets the server choose).</summary>
    public static readonly string[] ReservedClientIdPrefixes = ["sensorkit-gateway", "sensorkit-anon-", "sensorkit-auto-"];

    /// <summary>Account names may not start with this: it is the prefix of node client ids.</summary>
    public const string ReservedNamePrefix = "sensorkit-";

    private readonly Dictionary<string, Account> _byName;
    private readonly Dictionary<string, Account> _byNodeClientId;

    private AccountRegistry(List<Account> accounts)
    {
        Accounts = accounts;
        _byName = accounts.ToDictionary(a => a.Name, StringComparer.Ordinal);
        _byNodeClientId = accounts.Where(a => a.Role == AccountRole.Node).ToDictionary(a => a.NodeClientId!, StringComparer.Ordinal);
    }

    public static AccountRegistry Empty { get; } = new([]);

    public IReadOnlyList<Account> Accounts { get; }

    public Account? Find(string? name) => name is not null && _byName.TryGetValue(name, out Account? a) ? a : null;

    /// <summary>True when some account uses <paramref name="clientId"/> as its name or its node client id.</summary>
    public bool IsClaimed(string clientId) => _byName.ContainsKey(clientId) || _byNodeClientId.ContainsKey(clientId);

    /// <summary>This registry and <paramref name="account"/>; throws <see cref="AccountException"/> naming the conflict.</summary>
    public AccountRegistry With(Account account)
    {
        if (Check(account) is { } error)
        {
            throw new AccountException($"account '{account.Name}': {error}");
        }

        foreach (Account other in Accounts)
        {
            if (Conflict(account, other) is { } conflict)
            {
                throw new AccountException($"account '{account.Name}': {conflict}");
            }
        }

        return new AccountRegistry([.. Accounts, account]);
    }

    public AccountRegistry Without(string name) =>
        _byName.ContainsKey(name) ? new AccountRegistry([.. Accounts.Where(a => a.Name != name)]) : throw new AccountException($"there is no account '{name}'");

    /// <summary>Reads the accounts file; throws <see cref="AccountException"/> naming the file, the entry and the key.</summary>
    public static AccountRegistry Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AccountException($"{path}: cannot be read ({e.Message})", e);
        }

        return Parse(json, path);
    }

    public static AccountRegistry Parse(string json, string source)
    {
        AccountRegistry registry = Empty;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("accounts", out JsonElement list) || list.ValueKind != JsonValueKind.Array)
            {
                throw new AccountException($"{source}: expected an object with an \"accounts\" array");
            }

            int i = 0;
            foreach (JsonElement e in list.EnumerateArray())
            {
                string at = $"{source}: accounts[{i}]";
                if (e.ValueKind != JsonValueKind.Object)
                {
                    throw new AccountException($"{at}: is not an object");
                }

                string name = Text(e, "name", at) ?? throw new AccountException($"{at}.name: is missing");
                string roleText = Text(e, "role", at) ?? throw new AccountException($"{at}.role: is missing");
                if (!Account.TryParseRole(roleText, out AccountRole role))
                {
                    throw new AccountException($"{at}.role: '{roleText}' is not one of node, gateway, subscriber");
                }

                string hash = Text(e, "password", at) ?? throw new AccountException($"{at}.password: is missing");
                try
                {
                    registry = registry.With(new Account(name, role, Text(e, "site", at), Text(e, "node", at), hash));
                }
                catch (AccountException x)
                {
                    throw new AccountException($"{at}: {x.Message}", x);
                }

                i++;
            }
        }
        catch (JsonException e)
        {
            throw new AccountException($"{source}: is not valid JSON ({e.Message})", e);
        }

        return registry;
    }

    private static string? Text(JsonElement e, string key, string at)
    {
        if (!e.TryGetProperty(key, out JsonElement v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw new AccountException($"{at}.{key}: is not a string");
    }

    /// <summary>Writes the file atomically (a new file renamed over the old), so the broker never reads half of it.</summary>
    public void Save(string path)
    {
        string full = Path.GetFullPath(path);
        string tmp = $"{full}.{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Hashes only, but no business of other users.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        }

        try
        {
            using (var stream = new FileStream(tmp, options))
            {
                using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                {
                    w.WriteStartObject();
                    w.WriteStartArray("accounts");
                    foreach (Account a in Accounts)
                    {
                        w.WriteStartObject();
                        w.WriteString("name", a.Name);
                        w.WriteString("role", Account.RoleName(a.Role));
                        if (a.Role == AccountRole.Node)
                        {
                            w.WriteString("site", a.Site);
                            w.WriteString("node", a.Node);
                        }

                        w.WriteString("password", a.PasswordHash);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                stream.WriteByte((byte)'\n');
                stream.Flush(flushToDisk: true);
            }

            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    /// <summary>Why the account is malformed on its own; null when it is fine.</summary>
    private static string? Check(Account a)
    {
        if (!IsValidName(a.Name))
        {
            return "the name must be 1-64 characters of a-z, A-Z, 0-9, '.', '-' and '_'";
        }

        if (a.Name.StartsWith(ReservedNamePrefix, StringComparison.Ordinal))
        {
            return $"names starting with '{ReservedNamePrefix}' are reserved for client ids";
        }

        if (PasswordHash.Check(a.PasswordHash) is { } bad)
        {
            return $"password {bad}";
        }

        if (a.Role != AccountRole.Node)
        {
            return a.Site is null && a.Node is null ? null : $"only node accounts have a site and a node";
        }

        if (a.Site is null || !Topics.IsValidLevel(a.Site))
        {
            return $"site '{a.Site}' must be a topic level of a-z, A-Z, 0-9, '-' and '_'";
        }

        if (a.Node is null || !Topics.IsValidLevel(a.Node))
        {
            return $"node '{a.Node}' must be a topic level of a-z, A-Z, 0-9, '-' and '_'";
        }

        // sensorkit/v1/{site}/alerts/# belongs to the gateway.
        if (a.Node == "alerts")
        {
            return "node 'alerts' would speak in the gateway's alert topics";
        }

        if (ReservedClientIdPrefixes.FirstOrDefault(p => a.NodeClientId!.StartsWith(p, StringComparison.Ordinal)) is { } reserved)
        {
            return $"its client id {a.NodeClientId} would start with '{reserved}', which the broker keeps for itself (choose another site name)";
        }

        return null;
    }

    private static string? Conflict(Account a, Account other)
    {
        if (a.Name == other.Name)
        {
            return "exists already";
        }

        if (a.Role != AccountRole.Node || other.Role != AccountRole.Node)
        {
            return null;
        }

        if (a.Site == other.Site && a.Node == other.Node)
        {
            return $"node {a.Site}/{a.Node} belongs to account '{other.Name}' already";
        }

        // Site and node ids may hold '-' and '_': "a-b"/"c" and "a"/"b-c" would share a client id or a discovery device.
        if (a.NodeClientId == other.NodeClientId || a.DiscoveryDevice == other.DiscoveryDevice)
        {
            return $"its client id {a.NodeClientId} or discovery device {a.DiscoveryDevice} is that of account '{other.Name}' ({other.Site}/{other.Node})";
        }

        return null;
    }

    public static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 64)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>An accounts file or command that cannot be used; the message names the file, entry or account.</summary>
public sealed class AccountException : Exception
{
    public AccountException(string message)
        : base(message)
    {
    }

    public AccountException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public AccountException()
    {
    }
}
