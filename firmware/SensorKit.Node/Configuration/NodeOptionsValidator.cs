using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Publishing;
using SensorKit.Node.Sensors;
using SensorKit.Protocol;

namespace SensorKit.Node.Configuration;

/// <summary>Checks the "Node" section at start; each failure names its configuration key.</summary>
public sealed class NodeOptionsValidator(IConfiguration configuration) : IValidateOptions<NodeOptions>
{
    public ValidateOptionsResult Validate(string? name, NodeOptions o)
    {
        var errors = new List<string>();
        const string s = NodeOptions.Section;

        // The binder skips a list entry it cannot convert (e.g. Interval "soon"); bind each one alone to name the key.
        foreach (IConfigurationSection entry in configuration.GetSection($"{s}:Sensors").GetChildren())
        {
            try
            {
                entry.Get<SensorOptions>();
            }
            catch (InvalidOperationException e)
            {
                errors.Add(e.Message);
            }
        }

        if (errors.Count > 0)
        {
            return ValidateOptionsResult.Fail(errors);
        }

        if (!Topics.IsValidLevel(o.Id))
        {
            errors.Add($"{s}:Id: '{o.Id}' must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_'");
        }

        if (!Topics.IsValidLevel(o.Site))
        {
            errors.Add($"{s}:Site: '{o.Site}' must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_'");
        }

        if (o.Location.Latitude is < -90 or > 90 || double.IsNaN(o.Location.Latitude))
        {
            errors.Add($"{s}:Location:Latitude: {o.Location.Latitude} is outside -90..90");
        }

        if (o.Location.Longitude is < -180 or > 180 || double.IsNaN(o.Location.Longitude))
        {
            errors.Add($"{s}:Location:Longitude: {o.Location.Longitude} is outside -180..180");
        }

        if (o.Window <= TimeSpan.Zero)
        {
            errors.Add($"{s}:Window: {o.Window} must be positive");
        }

        if (o.StatusInterval <= TimeSpan.Zero)
        {
            errors.Add($"{s}:StatusInterval: {o.StatusInterval} must be positive");
        }

        if (o.Sensors.Count == 0)
        {
            errors.Add($"{s}:Sensors: no sensors configured");
        }

        var taken = new Dictionary<(int Bus, int Address), string>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.Sensors.Count; i++)
        {
            SensorOptions sensor = o.Sensors[i];
            string key = $"{s}:Sensors:{i}";
            if (!SensorCatalog.TryGet(sensor.Type, out SensorType type))
            {
                errors.Add($"{key}:Type: unknown sensor type '{sensor.Type}' (known: {string.Join(", ", SensorCatalog.Names)})");
                continue;
            }

            if (!Topics.IsValidLevel(sensor.EffectiveId))
            {
                errors.Add($"{key}:Id: '{sensor.EffectiveId}' must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_'");
            }
            else if (!ids.Add(sensor.EffectiveId))
            {
                errors.Add($"{key}:Id: '{sensor.EffectiveId}' is used by another sensor; give each an Id");
            }

            if (sensor.Bus < 0)
            {
                errors.Add($"{key}:Bus: {sensor.Bus} is not a bus number");
            }

            int? address = sensor.ParseAddress(type.DefaultAddress);
            if (address is null)
            {
                errors.Add($"{key}:Address: '{sensor.Address}' is not a number (write 0x76 or 118)");
            }
            else if (address is < 0x03 or > 0x77)
            {
                // 0x00-0x02 and 0x78-0x7F are reserved by the I2C specification (UM10204 §3.1.12).
                errors.Add($"{key}:Address: 0x{address:x2} is outside the 7-bit range 0x03-0x77");
            }
            else if (taken.TryGetValue((sensor.Bus, address.Value), out string? other))
            {
                errors.Add($"{key}:Address: 0x{address:x2} on bus {sensor.Bus} is already taken by sensor '{other}'");
            }
            else
            {
                taken[(sensor.Bus, address.Value)] = sensor.EffectiveId;
                if (!type.Addresses.Contains(address.Value))
                {
                    errors.Add($"{key}:Address: a {type.Name} answers only at {string.Join(" or ", type.Addresses.Select(a => $"0x{a:x2}"))}, not 0x{address:x2}");
                }
            }

            List<string> typeErrors = type.Validate?.Invoke(sensor, key).ToList() ?? [];
            errors.AddRange(typeErrors);
            if (typeErrors.Count == 0)
            {
                // Channels may depend on the type's own keys, so only once those are valid.
                errors.AddRange(PipelineFactory.Validate(type.ChannelsFor(sensor), sensor, o, key));
            }

            if (sensor.Interval <= TimeSpan.Zero)
            {
                errors.Add($"{key}:Interval: {sensor.Interval} must be positive");
            }
            else if (sensor.Interval > o.Window)
            {
                errors.Add($"{key}:Interval: {sensor.Interval} is longer than {s}:Window {o.Window}; a window would hold no sample");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Checks the "Mqtt" section at start; files it names must exist, secrets are checked but never echoed.</summary>
public sealed class MqttOptionsValidator(IConfiguration? configuration = null) : IValidateOptions<MqttOptions>
{
    public ValidateOptionsResult Validate(string? name, MqttOptions o)
    {
        var errors = new List<string>();
        const string s = MqttOptions.Section;
        List<(string Value, Uri Uri)> brokers = ValidateBrokers(o, errors);
        bool hasPassword = !string.IsNullOrEmpty(o.PasswordFile) || !string.IsNullOrEmpty(o.PasswordEnvironmentVariable);
        if (brokers.FirstOrDefault(b => !IsLoopback(b.Uri)).Value is { } remote && (string.IsNullOrEmpty(o.Username) || !hasPassword))
        {
            errors.Add($"{s}:Username: the broker {remote} is not on this machine; set {s}:Username and {s}:PasswordFile or {s}:PasswordEnvironmentVariable (no anonymous publishing over a network). " +
                $"Put the user name in the configuration and the password alone in a root-owned file with mode 0600: on a Pi, " +
                $"hardware/install.sh --mqtt-username NAME --mqtt-password-file FILE stores it so, and the service reads it through systemd LoadCredential " +
                $"(by hand: Environment={s}__PasswordFile=/path/to/file, or --{s}:PasswordFile /path/to/file)");
        }

        if (hasPassword && string.IsNullOrEmpty(o.Username))
        {
            errors.Add($"{s}:Username: required when a password is configured");
        }

        if (!string.IsNullOrEmpty(o.PasswordFile) && !string.IsNullOrEmpty(o.PasswordEnvironmentVariable))
        {
            errors.Add($"{s}:PasswordFile: set either {s}:PasswordFile or {s}:PasswordEnvironmentVariable, not both");
        }
        else if (!string.IsNullOrEmpty(o.PasswordFile) && !File.Exists(o.PasswordFile))
        {
            // Checked at start, so a typo shows up now and not as a failed connect later.
            errors.Add($"{s}:PasswordFile: '{o.PasswordFile}' does not exist or this user cannot see it");
        }
        else if (!string.IsNullOrEmpty(o.PasswordEnvironmentVariable) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(o.PasswordEnvironmentVariable)))
        {
            errors.Add($"{s}:PasswordEnvironmentVariable: the environment variable '{o.PasswordEnvironmentVariable}' is not set");
        }

        bool tls = brokers.Any(b => b.Uri.Scheme == "mqtts");
        if (!string.IsNullOrEmpty(o.CaFile))
        {
            if (!tls)
            {
                errors.Add($"{s}:CaFile: only used with an mqtts:// broker");
            }
            else if (BrokerTrust.LoadCaFile(o.CaFile, out string? caError) is null)
            {
                errors.Add($"{s}:CaFile: {caError}");
            }
        }

        if (!string.IsNullOrWhiteSpace(o.CertificateFingerprint))
        {
            if (!tls)
            {
                errors.Add($"{s}:CertificateFingerprint: only used with an mqtts:// broker");
            }
            else if (o.ParseFingerprint() is null)
            {
                errors.Add($"{s}:CertificateFingerprint: '{o.CertificateFingerprint}' is not a SHA-256 fingerprint (64 hex digits, colons allowed)");
            }
        }

        if (o.KeepAlive <= TimeSpan.Zero)
        {
            errors.Add($"{s}:KeepAlive: {o.KeepAlive} must be positive");
        }

        if (o.ReconnectMin <= TimeSpan.Zero || o.ReconnectMax < o.ReconnectMin)
        {
            errors.Add($"{s}:ReconnectMin: must be positive and not above {s}:ReconnectMax");
        }

        if (o.TelemetryExpiry < TimeSpan.Zero || o.TelemetryExpiry.TotalSeconds > uint.MaxValue)
        {
            errors.Add($"{s}:TelemetryExpiry: {o.TelemetryExpiry} must be zero (never) or a positive time");
        }

        if (o.PreferPrimaryAfter < TimeSpan.Zero)
        {
            errors.Add($"{s}:PreferPrimaryAfter: {o.PreferPrimaryAfter} must be zero (never) or a positive time");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Mqtt:Broker, or the list Mqtt:Brokers: each entry a broker URI, at most <see cref="MqttOptions.MaxBrokers"/>, none twice.</summary>
    private List<(string Value, Uri Uri)> ValidateBrokers(MqttOptions o, List<string> errors)
    {
        const string s = MqttOptions.Section;
        var brokers = new List<(string Value, Uri Uri)>();
        if (configuration?.GetSection($"{s}:Brokers").Value is not null)
        {
            // The binder would ignore a plain value here, and the node would quietly use the default broker.
            errors.Add($"{s}:Brokers: a list, one key per broker ({s}:Brokers:0, {s}:Brokers:1 …; in the environment {s}__Brokers__0); for one broker use {s}:Broker");
            return brokers;
        }

        if (!string.IsNullOrEmpty(o.Broker) && o.Brokers.Count > 0)
        {
            errors.Add($"{s}:Brokers: set either {s}:Broker (one broker) or {s}:Brokers (a list in order of preference), not both; an empty {s}:Broker (--{s}:Broker=) clears one set elsewhere");
            return brokers;
        }

        if (o.Brokers.Count > MqttOptions.MaxBrokers)
        {
            errors.Add($"{s}:Brokers: {o.Brokers.Count} brokers; at most {MqttOptions.MaxBrokers}");
            return brokers;
        }

        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string? value) in o.BrokerEntries())
        {
            if (MqttOptions.ParseBroker(value, out string? problem) is not { } uri)
            {
                errors.Add($"{key}: {problem}");
            }
            else if (!seen.TryAdd($"{uri.Host}:{MqttOptions.Port(uri)}", key))
            {
                errors.Add($"{key}: {value} is the same broker as {seen[$"{uri.Host}:{MqttOptions.Port(uri)}"]}");
            }
            else
            {
                brokers.Add((value!, uri));
            }
        }

        return brokers;
    }

    private static bool IsLoopback(Uri broker) =>
        broker.IsLoopback || (System.Net.IPAddress.TryParse(broker.Host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip));
}

/// <summary>Checks the "Outbox" section at start. Whether its folder can be written is checked when it is opened.</summary>
public sealed class OutboxOptionsValidator : IValidateOptions<OutboxOptions>
{
    public ValidateOptionsResult Validate(string? name, OutboxOptions o)
    {
        var errors = new List<string>();
        const string s = OutboxOptions.Section;
        if (o.SegmentBytes < 4096)
        {
            errors.Add($"{s}:SegmentBytes: {o.SegmentBytes} must be at least 4096");
        }
        else if (o.MaxBytes < 4 * o.SegmentBytes)
        {
            errors.Add($"{s}:MaxBytes: {o.MaxBytes} must be at least 4 x {s}:SegmentBytes ({4 * o.SegmentBytes}), so dropping the oldest segment frees a small part");
        }

        if (o.MaxAge <= TimeSpan.Zero)
        {
            errors.Add($"{s}:MaxAge: {o.MaxAge} must be positive");
        }

        if (!Enum.IsDefined(o.Fsync))
        {
            errors.Add($"{s}:Fsync: must be EveryRecord, Interval or OperatingSystem");
        }

        if (o.FsyncInterval <= TimeSpan.Zero)
        {
            errors.Add($"{s}:FsyncInterval: {o.FsyncInterval} must be positive");
        }

        if (!(o.ReplayRate > 0) || double.IsInfinity(o.ReplayRate))
        {
            errors.Add($"{s}:ReplayRate: {o.ReplayRate} must be a positive number of records per second");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Checks the "HomeAssistant" section at start.</summary>
public sealed class HomeAssistantOptionsValidator : IValidateOptions<HomeAssistantOptions>
{
    public ValidateOptionsResult Validate(string? name, HomeAssistantOptions o) =>
        !o.Enabled || o.DiscoveryPrefix.Split('/').All(level => Topics.IsValidLevel(level))
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{HomeAssistantOptions.Section}:DiscoveryPrefix: '{o.DiscoveryPrefix}' must be topic levels of a-z, A-Z, 0-9, '-' or '_'");
}

/// <summary>Checks the "Simulation" section at start.</summary>
public sealed class SimulationOptionsValidator : IValidateOptions<SimulationOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulationOptions o)
    {
        if (!(o.Speed > 0) || double.IsInfinity(o.Speed))
        {
            return ValidateOptionsResult.Fail($"{SimulationOptions.Section}:Speed: {o.Speed} must be a positive number");
        }

        if (o.StartAt < TimeSpan.Zero)
        {
            return ValidateOptionsResult.Fail($"{SimulationOptions.Section}:StartAt: {o.StartAt} must not be negative");
        }

        return ValidateOptionsResult.Success;
    }
}
