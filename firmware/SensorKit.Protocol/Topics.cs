namespace SensorKit.Protocol;

/// <summary>
/// The versioned topic scheme (docs/protocol.md). Every topic starts with <c>sensorkit/v1/</c>,
/// so a breaking change gets a new prefix and old subscribers keep working.
/// </summary>
public static class Topics
{
    public const string Root = "sensorkit";
    public const string Version = "v1";
    public const string Prefix = Root + "/" + Version + "/";

    /// <summary><c>sensorkit/v1/{site}/{node}/telemetry/{sensor}/{quantity}</c>: one aggregate per window and channel.</summary>
    public static string Telemetry(string site, string node, string sensor, string quantity)
        => $"{Prefix}{site}/{node}/telemetry/{sensor}/{quantity}";

    /// <summary><c>sensorkit/v1/{site}/{node}/status</c>: retained birth, clean offline, and the will ("lost").</summary>
    public static string Status(string site, string node) => $"{Prefix}{site}/{node}/status";

    /// <summary><c>sensorkit/v1/{site}/alerts/event/{rule}/{subject}</c>: every lifecycle message (raised, updated, cleared).</summary>
    public static string AlertEvent(string site, string rule, string subject) => $"{Prefix}{site}/alerts/event/{rule}/{subject}";

    /// <summary><c>sensorkit/v1/{site}/alerts/active/{rule}/{subject}</c>: retained while the alert is active, emptied when it ends.</summary>
    public static string AlertActive(string site, string rule, string subject) => $"{Prefix}{site}/alerts/active/{rule}/{subject}";

    /// <summary><c>sensorkit/v1/{site}/alerts/cap/{rule}/{subject}</c>: the same lifecycle as OASIS CAP 1.2 XML.</summary>
    public static string AlertCap(string site, string rule, string subject) => $"{Prefix}{site}/alerts/cap/{rule}/{subject}";

    public const string AllTelemetryFilter = Prefix + "+/+/telemetry/#";
    public const string AllStatusFilter = Prefix + "+/+/status";
    public const string AllAlertsFilter = Prefix + "+/alerts/#";

    /// <summary>
    /// A topic level must be a plain identifier: MQTT forbids wildcards in published topic names
    /// (MQTT 5.0 §4.7.1), and '/' would add a level. Keeping levels to [a-z0-9-_] also keeps them
    /// URL-safe for the open-data feed.
    /// </summary>
    public static bool IsValidLevel(ReadOnlySpan<char> level)
    {
        if (level.IsEmpty || level.Length > 64)
        {
            return false;
        }

        foreach (char c in level)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or (>= 'A' and <= 'Z');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Splits a telemetry topic into its levels; false when it is not one.</summary>
    public static bool TryParseTelemetry(string topic, out TelemetryTopic parsed)
    {
        parsed = default;
        if (!topic.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        string[] levels = topic[Prefix.Length..].Split('/');
        if (levels.Length != 5 || levels[2] != "telemetry")
        {
            return false;
        }

        foreach (string level in levels)
        {
            if (!IsValidLevel(level))
            {
                return false;
            }
        }

        parsed = new TelemetryTopic(levels[0], levels[1], levels[3], levels[4]);
        return true;
    }

    /// <summary>The site and node of a node's own topic (telemetry or status); false for any other topic.</summary>
    public static bool TryParseNode(string topic, out string site, out string node)
    {
        if (TryParseTelemetry(topic, out TelemetryTopic t))
        {
            (site, node) = (t.Site, t.Node);
            return true;
        }

        return TryParseStatus(topic, out site, out node);
    }

    /// <summary>Splits a status topic into site and node; false when it is not one.</summary>
    public static bool TryParseStatus(string topic, out string site, out string node)
    {
        site = node = string.Empty;
        if (!topic.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        string[] levels = topic[Prefix.Length..].Split('/');
        if (levels.Length != 3 || levels[2] != "status" || !IsValidLevel(levels[0]) || !IsValidLevel(levels[1]))
        {
            return false;
        }

        site = levels[0];
        node = levels[1];
        return true;
    }
}

public readonly record struct TelemetryTopic(string Site, string Node, string Sensor, string Quantity);
