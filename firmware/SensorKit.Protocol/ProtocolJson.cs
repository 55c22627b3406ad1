using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;

namespace SensorKit.Protocol;

/// <summary>
/// Writes and reads the JSON payloads of docs/protocol.md. Writing goes straight to a
/// <see cref="Utf8JsonWriter"/> (no reflection, no intermediate strings) so the node can
/// serialise without garbage; reading validates every field and names the one that is wrong.
/// </summary>
public static class ProtocolJson
{
    /// <summary>Payloads above this size are rejected before parsing.</summary>
    public const int MaxPayloadBytes = 64 * 1024;

    /// <summary>The largest sample count a window may report (a day at 10 Hz is 864,000).</summary>
    public const int MaxCount = 1_000_000;

    /// <summary>The most sensors one node status may list.</summary>
    public const int MaxSensors = 64;

    /// <summary>The longest window a node may report.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(1);

    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = 8 };

    public static void WriteTelemetry(Utf8JsonWriter w, in TelemetryMessage m)
    {
        w.WriteStartObject();
        w.WriteString("schema"u8, TelemetryMessage.Schema);
        w.WriteString("site"u8, m.Site);
        w.WriteString("node"u8, m.Node);
        w.WriteString("sensor"u8, m.Sensor);
        w.WriteString("quantity"u8, m.Quantity);
        w.WriteString("unit"u8, m.Unit);
        w.WriteNumber("seq"u8, m.Sequence);
        // RFC 3339 in UTC ("Z"): a DateTime of kind Utc is written that way.
        w.WriteString("start"u8, m.WindowStart.UtcDateTime);
        w.WriteString("end"u8, m.WindowEnd.UtcDateTime);
        w.WriteNumber("count"u8, m.Count);
        w.WriteNumber("expected"u8, m.Expected);
        w.WriteNumber("errors"u8, m.Errors);
        WriteNumber(w, "min"u8, m.Min);
        WriteNumber(w, "max"u8, m.Max);
        WriteNumber(w, "mean"u8, m.Mean);
        WriteNumber(w, "stddev"u8, m.StdDev);
        WriteNumber(w, "first"u8, m.First);
        WriteNumber(w, "last"u8, m.Last);
        if (m.RatePerHour is { } rate && double.IsFinite(rate))
        {
            w.WriteNumber("ratePerHour"u8, rate);
        }

        if (m.RawMean is { } rawMean && double.IsFinite(rawMean))
        {
            w.WriteNumber("rawMean"u8, rawMean);
        }

        if (m.Suppressed > 0)
        {
            w.WriteNumber("suppressed"u8, m.Suppressed);
        }

        w.WriteBoolean("calibrated"u8, m.Calibrated);
        w.WriteString("quality"u8, m.Flags == QualityFlags.None ? "good"u8 : "doubtful"u8);
        w.WriteStartArray("flags"u8);
        WriteFlags(w, m.Flags);
        w.WriteEndArray();
        w.WriteBoolean("backfill"u8, m.Backfill);
        w.WriteEndObject();
    }

    public static void WriteStatus(Utf8JsonWriter w, NodeStatusMessage m)
    {
        w.WriteStartObject();
        w.WriteString("schema"u8, NodeStatusMessage.Schema);
        w.WriteString("site"u8, m.Site);
        w.WriteString("node"u8, m.Node);
        w.WriteString("state"u8, Name(m.State));
        w.WriteString("time"u8, m.Time.UtcDateTime);
        if (m.Firmware is not null)
        {
            w.WriteString("firmware"u8, m.Firmware);
        }

        if (m.Started is { } started)
        {
            w.WriteString("started"u8, started.UtcDateTime);
        }

        if (m.UptimeSeconds is { } uptime)
        {
            w.WriteNumber("uptimeSeconds"u8, Math.Round(uptime, 3));
        }

        if (m.Location is { } loc)
        {
            w.WriteStartObject("location"u8);
            w.WriteNumber("lat"u8, loc.Latitude);
            w.WriteNumber("lon"u8, loc.Longitude);
            if (loc.Altitude is { } alt)
            {
                w.WriteNumber("alt"u8, alt);
            }

            w.WriteEndObject();
        }

        w.WriteStartArray("sensors"u8);
        foreach (SensorStatus s in m.Sensors)
        {
            w.WriteStartObject();
            w.WriteString("id"u8, s.Id);
            w.WriteString("type"u8, s.Type);
            w.WriteNumber("bus"u8, s.Bus);
            w.WriteString("address"u8, "0x" + s.Address.ToString("x2", CultureInfo.InvariantCulture));
            w.WriteString("health"u8, Name(s.Health));
            w.WriteNumber("consecutiveFailures"u8, s.ConsecutiveFailures);
            if (s.LastError is not null)
            {
                w.WriteString("lastError"u8, s.LastError);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (m.Outbox is { } outbox)
        {
            w.WriteStartObject("outbox"u8);
            w.WriteNumber("queued"u8, outbox.Queued);
            w.WriteNumber("bytes"u8, outbox.Bytes);
            w.WriteNumber("dropped"u8, outbox.Dropped);
            w.WriteNumber("corruptRecords"u8, outbox.CorruptRecords);
            w.WriteEndObject();
        }

        if (m.Broker is not null)
        {
            w.WriteString("broker"u8, m.Broker);
        }

        w.WriteEndObject();
    }

    public static void WriteAlert(Utf8JsonWriter w, AlertMessage m)
    {
        w.WriteStartObject();
        w.WriteString("schema"u8, AlertMessage.Schema);
        w.WriteString("alertId"u8, m.AlertId);
        w.WriteString("rule"u8, m.Rule);
        w.WriteString("state"u8, Name(m.State));
        w.WriteString("audience"u8, Name(m.Audience));
        w.WriteString("site"u8, m.Site);
        w.WriteString("subject"u8, m.Subject);
        w.WriteStartArray("nodes"u8);
        foreach (string n in m.Nodes)
        {
            w.WriteStringValue(n);
        }

        w.WriteEndArray();
        w.WriteString("quantity"u8, m.Quantity);
        w.WriteString("unit"u8, m.Unit);
        WriteNumber(w, "value"u8, m.Value);
        WriteNumber(w, "threshold"u8, m.Threshold);
        WriteNumber(w, "hysteresis"u8, m.Hysteresis);
        w.WriteString("severity"u8, m.Severity);
        w.WriteString("certainty"u8, m.Certainty);
        w.WriteString("urgency"u8, m.Urgency);
        w.WriteString("headline"u8, m.Headline);
        w.WriteString("time"u8, m.Time.UtcDateTime);
        w.WriteString("raisedAt"u8, m.RaisedAt.UtcDateTime);
        w.WriteNumber("revision"u8, m.Revision);
        w.WriteString("status"u8, m.Status);
        w.WriteString("measure"u8, m.Measure);
        w.WriteNumber("quorum"u8, m.Quorum);
        w.WriteNumber("nodesReporting"u8, m.NodesReporting);
        if (m.CapIdentifier is not null)
        {
            w.WriteString("capIdentifier"u8, m.CapIdentifier);
        }

        w.WriteEndObject();
    }

    public static bool TryReadTelemetry(ReadOnlySpan<byte> utf8, out TelemetryMessage message, out string error)
    {
        message = default;
        if (!TryParse(utf8, out JsonDocument? doc, out error))
        {
            return false;
        }

        using (doc)
        {
            var r = new FieldReader(doc.RootElement);
            if (!r.ExpectSchema(TelemetryMessage.Schema))
            {
                error = r.Error!;
                return false;
            }

            var m = new TelemetryMessage
            {
                Site = r.Level("site"),
                Node = r.Level("node"),
                Sensor = r.Level("sensor"),
                Quantity = r.Level("quantity"),
                Unit = r.String("unit"),
                Sequence = r.Int64("seq"),
                WindowStart = r.Time("start"),
                WindowEnd = r.Time("end"),
                Count = r.Int32("count"),
                Expected = r.Int32("expected"),
                Errors = r.Int32("errors"),
                Min = r.Number("min"),
                Max = r.Number("max"),
                Mean = r.Number("mean"),
                StdDev = r.Number("stddev"),
                First = r.Number("first"),
                Last = r.Number("last"),
                RatePerHour = r.OptionalNumber("ratePerHour"),
                RawMean = r.OptionalNumber("rawMean"),
                Suppressed = r.OptionalInt32("suppressed") ?? 0,
                Calibrated = r.OptionalBool("calibrated") ?? false,
                Flags = r.Flags("flags"),
                Backfill = r.Bool("backfill"),
            };
            if (r.Error is null && m.Count <= 0)
            {
                r.Fail("count", "must be at least 1");
            }

            // Counts are per window: bounded so that no sum or ratio of them can overflow downstream.
            if (r.Error is null && (m.Count > MaxCount || m.Expected is < 0 or > MaxCount || m.Errors is < 0 or > MaxCount || m.Suppressed is < 0 or > MaxCount))
            {
                r.Fail(m.Count > MaxCount ? "count" : m.Expected is < 0 or > MaxCount ? "expected" : m.Errors is < 0 or > MaxCount ? "errors" : "suppressed", $"must be within 0-{MaxCount}");
            }

            if (r.Error is null && m.Sequence < 0)
            {
                r.Fail("seq", "must not be negative");
            }

            if (r.Error is null && !(m.StdDev >= 0))
            {
                r.Fail("stddev", "must not be negative");
            }

            if (r.Error is null && m.WindowEnd - m.WindowStart > MaxWindow)
            {
                r.Fail("end", $"the window is longer than {MaxWindow.TotalHours} h");
            }

            if (r.Error is null && !(m.Min <= m.Mean && m.Mean <= m.Max))
            {
                r.Fail("mean", "must lie within [min, max]");
            }

            if (r.Error is not null)
            {
                error = r.Error;
                return false;
            }

            message = m;
            return true;
        }
    }

    public static bool TryReadStatus(ReadOnlySpan<byte> utf8, [NotNullWhen(true)] out NodeStatusMessage? message, out string error)
    {
        message = null;
        if (!TryParse(utf8, out JsonDocument? doc, out error))
        {
            return false;
        }

        using (doc)
        {
            var r = new FieldReader(doc.RootElement);
            if (!r.ExpectSchema(NodeStatusMessage.Schema))
            {
                error = r.Error!;
                return false;
            }

            var sensors = new List<SensorStatus>();
            if (r.OptionalArray("sensors") is { } arr)
            {
                int i = 0;
                foreach (JsonElement e in arr.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.Object || i >= MaxSensors)
                    {
                        error = i >= MaxSensors ? $"field 'sensors': more than {MaxSensors} entries" : $"field 'sensors[{i}]': expected an object, got {e.ValueKind.ToString().ToLowerInvariant()}";
                        return false;
                    }

                    var sr = new FieldReader(e, $"sensors[{i++}].");
                    sensors.Add(new SensorStatus
                    {
                        Id = sr.String("id"),
                        Type = sr.String("type"),
                        Bus = sr.Int32("bus"),
                        Address = sr.Address("address"),
                        Health = sr.Enum<SensorHealth>("health"),
                        ConsecutiveFailures = sr.Int32("consecutiveFailures"),
                        LastError = sr.OptionalString("lastError"),
                    });
                    if (sr.Error is not null)
                    {
                        error = sr.Error;
                        return false;
                    }
                }
            }

            GeoLocation? location = null;
            if (r.Object("location", optional: true) is { } loc)
            {
                var lr = new FieldReader(loc, "location.");
                location = new GeoLocation(lr.Number("lat", -90, 90), lr.Number("lon", -180, 180), lr.OptionalNumber("alt"));
                if (lr.Error is not null)
                {
                    error = lr.Error;
                    return false;
                }
            }

            OutboxStatus? outbox = null;
            if (r.Object("outbox", optional: true) is { } box)
            {
                var br = new FieldReader(box, "outbox.");
                outbox = new OutboxStatus
                {
                    Queued = br.Int64("queued"),
                    Bytes = br.Int64("bytes"),
                    Dropped = br.Int64("dropped"),
                    CorruptRecords = br.Int64("corruptRecords"),
                };
                if (br.Error is not null)
                {
                    error = br.Error;
                    return false;
                }
            }

            var m = new NodeStatusMessage
            {
                Site = r.Level("site"),
                Node = r.Level("node"),
                State = r.Enum<NodeState>("state"),
                Time = r.Time("time"),
                Firmware = r.OptionalString("firmware"),
                Started = r.OptionalTime("started"),
                UptimeSeconds = r.OptionalNumber("uptimeSeconds"),
                Location = location,
                Sensors = sensors,
                Outbox = outbox,
                Broker = r.OptionalString("broker"),
            };
            if (r.Error is null && m.UptimeSeconds is < 0)
            {
                r.Fail("uptimeSeconds", "must not be negative");
            }

            if (r.Error is not null)
            {
                error = r.Error;
                return false;
            }

            message = m;
            return true;
        }
    }

    public static bool TryReadAlert(ReadOnlySpan<byte> utf8, [NotNullWhen(true)] out AlertMessage? message, out string error)
    {
        message = null;
        if (!TryParse(utf8, out JsonDocument? doc, out error))
        {
            return false;
        }

        using (doc)
        {
            var r = new FieldReader(doc.RootElement);
            if (!r.ExpectSchema(AlertMessage.Schema))
            {
                error = r.Error!;
                return false;
            }

            var m = new AlertMessage
            {
                AlertId = r.String("alertId"),
                Rule = r.Level("rule"),
                State = r.Enum<AlertState>("state"),
                Audience = r.Enum<AlertAudience>("audience"),
                Site = r.Level("site"),
                Subject = r.Level("subject"),
                Nodes = r.StringArray("nodes"),
                Quantity = r.String("quantity"),
                Unit = r.String("unit"),
                Value = r.Number("value"),
                Threshold = r.Number("threshold"),
                Hysteresis = r.Number("hysteresis"),
                Severity = r.String("severity"),
                Certainty = r.String("certainty"),
                Urgency = r.String("urgency"),
                Headline = r.String("headline"),
                Time = r.Time("time"),
                RaisedAt = r.Time("raisedAt"),
                Revision = r.Int32("revision"),
                Status = r.OptionalString("status") ?? "Actual",
                Measure = r.OptionalString("measure") ?? "value",
                Quorum = r.OptionalInt32("quorum") ?? 1,
                NodesReporting = r.OptionalInt32("nodesReporting") ?? 1,
                CapIdentifier = r.OptionalString("capIdentifier"),
            };
            if (r.Error is not null)
            {
                error = r.Error;
                return false;
            }

            message = m;
            return true;
        }
    }

    public static string Name(NodeState s) => s switch
    {
        NodeState.Online => "online",
        NodeState.Offline => "offline",
        NodeState.Lost => "lost",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static string Name(SensorHealth h) => h switch
    {
        SensorHealth.Ok => "ok",
        SensorHealth.Degraded => "degraded",
        SensorHealth.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(h)),
    };

    public static string Name(AlertState s) => s switch
    {
        AlertState.Raised => "raised",
        AlertState.Updated => "updated",
        AlertState.Cleared => "cleared",
        AlertState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static string Name(AlertAudience a) => a switch
    {
        AlertAudience.Public => "public",
        AlertAudience.Operator => "operator",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    /// <summary>Wire names of <see cref="QualityFlags"/>, in bit order.</summary>
    public static readonly IReadOnlyList<(QualityFlags Flag, string Name)> FlagNames =
    [
        (QualityFlags.Gaps, "gaps"),
        (QualityFlags.ReadErrors, "read-errors"),
        (QualityFlags.OutOfRange, "out-of-range"),
        (QualityFlags.Stuck, "stuck"),
        (QualityFlags.Stale, "stale"),
    ];

    private static void WriteFlags(Utf8JsonWriter w, QualityFlags flags)
    {
        if ((flags & QualityFlags.Gaps) != 0)
        {
            w.WriteStringValue("gaps"u8);
        }

        if ((flags & QualityFlags.ReadErrors) != 0)
        {
            w.WriteStringValue("read-errors"u8);
        }

        if ((flags & QualityFlags.OutOfRange) != 0)
        {
            w.WriteStringValue("out-of-range"u8);
        }

        if ((flags & QualityFlags.Stuck) != 0)
        {
            w.WriteStringValue("stuck"u8);
        }

        if ((flags & QualityFlags.Stale) != 0)
        {
            w.WriteStringValue("stale"u8);
        }
    }

    // JSON has no NaN or infinity; a non-finite value is written as null and read back as an error.
    private static void WriteNumber(Utf8JsonWriter w, ReadOnlySpan<byte> name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, value);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static bool TryParse(ReadOnlySpan<byte> utf8, [NotNullWhen(true)] out JsonDocument? doc, out string error)
    {
        doc = null;
        error = string.Empty;
        if (utf8.Length > MaxPayloadBytes)
        {
            error = $"payload is {utf8.Length} bytes, more than the limit of {MaxPayloadBytes}";
            return false;
        }

        // The JSON reader checks structure, not the UTF-8 inside strings: reading such a string later would throw.
        if (!System.Text.Unicode.Utf8.IsValid(utf8))
        {
            error = "payload is not valid UTF-8";
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = ReadOptions.MaxDepth });
            doc = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            error = $"not valid JSON: {e.Message}";
            return false;
        }

        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            doc = null;
            error = "payload must be a JSON object";
            return false;
        }

        return true;
    }

    /// <summary>Reads fields and keeps the first error, named by its field path.</summary>
    private sealed class FieldReader(JsonElement root, string path = "")
    {
        public string? Error { get; private set; }

        public void Fail(string field, string problem) => Error ??= $"field '{path}{field}': {problem}";

        public bool ExpectSchema(string schema)
        {
            string actual = String("schema");
            if (Error is null && actual != schema)
            {
                Fail("schema", $"expected '{schema}', got '{actual}'");
            }

            return Error is null;
        }

        private JsonElement? Get(string field, JsonValueKind kind, string expected, bool optional = false)
        {
            if (!root.TryGetProperty(field, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
            {
                if (!optional)
                {
                    Fail(field, "is missing");
                }

                return null;
            }

            bool ok = kind == JsonValueKind.True ? e.ValueKind is JsonValueKind.True or JsonValueKind.False : e.ValueKind == kind;
            if (!ok)
            {
                Fail(field, $"expected {expected}, got {e.ValueKind.ToString().ToLowerInvariant()}");
                return null;
            }

            return e;
        }

        public string String(string field) => Get(field, JsonValueKind.String, "a string") is { } e ? Text(field, e) ?? string.Empty : string.Empty;

        public string? OptionalString(string field) => Get(field, JsonValueKind.String, "a string", optional: true) is { } e ? Text(field, e) : null;

        /// <summary>A string's value; an escaped lone surrogate ("\ud800") cannot be decoded and fails the field.</summary>
        private string? Text(string field, JsonElement e)
        {
            try
            {
                return e.GetString();
            }
            catch (InvalidOperationException)
            {
                Fail(field, "is not a valid Unicode string");
                return null;
            }
        }

        public string Level(string field)
        {
            string s = String(field);
            if (Error is null && !Topics.IsValidLevel(s))
            {
                Fail(field, "must be 1-64 characters of a-z, A-Z, 0-9, '-' or '_'");
            }

            return s;
        }

        public double Number(string field) => Get(field, JsonValueKind.Number, "a number") is { } e ? Finite(field, e) : double.NaN;

        public double? OptionalNumber(string field) => Get(field, JsonValueKind.Number, "a number", optional: true) is { } e ? Finite(field, e) : null;

        /// <summary>A number that overflows a double (1e400) parses as infinity; nothing non-finite may pass.</summary>
        private double Finite(string field, JsonElement e)
        {
            if (!e.TryGetDouble(out double v) || !double.IsFinite(v))
            {
                Fail(field, $"'{Clip(e.GetRawText())}' is not a finite number");
                return double.NaN;
            }

            return v;
        }

        /// <summary>A number within [min, max], for fields whose range the protocol fixes (latitude, counts).</summary>
        public double Number(string field, double min, double max)
        {
            double v = Number(field);
            if (Error is null && !(v >= min && v <= max))
            {
                Fail(field, $"{v.ToString(CultureInfo.InvariantCulture)} is outside [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]");
            }

            return v;
        }

        /// <summary>The element of an object-valued field, or null (and an error) when it is something else.</summary>
        public JsonElement? Object(string field, bool optional = false) => Get(field, JsonValueKind.Object, "an object", optional);

        private static string Clip(string s) => s.Length <= 32 ? s : string.Concat(s.AsSpan(0, 32), "...");

        public long Int64(string field)
        {
            JsonElement? e = Get(field, JsonValueKind.Number, "an integer");
            if (e is { } v && !v.TryGetInt64(out long n))
            {
                Fail(field, "expected an integer");
                return 0;
            }

            return e?.GetInt64() ?? 0;
        }

        public int Int32(string field)
        {
            JsonElement? e = Get(field, JsonValueKind.Number, "an integer");
            if (e is { } v && !v.TryGetInt32(out _))
            {
                Fail(field, "expected a 32-bit integer");
                return 0;
            }

            return e?.GetInt32() ?? 0;
        }

        public int? OptionalInt32(string field)
        {
            JsonElement? e = Get(field, JsonValueKind.Number, "an integer", optional: true);
            if (e is not { } v)
            {
                return null;
            }

            if (!v.TryGetInt32(out int n))
            {
                Fail(field, "expected a 32-bit integer");
                return null;
            }

            return n;
        }

        public bool Bool(string field) => Get(field, JsonValueKind.True, "true or false")?.GetBoolean() ?? false;

        public bool? OptionalBool(string field) => Get(field, JsonValueKind.True, "true or false", optional: true)?.GetBoolean();

        public DateTimeOffset Time(string field) => ParseTime(field, String(field));

        public DateTimeOffset? OptionalTime(string field)
        {
            string? s = OptionalString(field);
            return s is null ? null : ParseTime(field, s);
        }

        private DateTimeOffset ParseTime(string field, string s)
        {
            if (Error is not null)
            {
                return default;
            }

            if (s.Length > 40 || !DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset t))
            {
                Fail(field, $"'{Clip(s)}' is not an RFC 3339 timestamp");
                return default;
            }

            // Nothing SensorKit measured predates the project, and far-future times would pin deduplication.
            if (t.Year is < 2000 or > 2200)
            {
                Fail(field, $"'{s}' is outside the years 2000-2200");
                return default;
            }

            return t;
        }

        public int Address(string field)
        {
            string s = String(field);
            if (Error is null && !(s.StartsWith("0x", StringComparison.Ordinal) && int.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int a)))
            {
                Fail(field, $"'{s}' is not a hexadecimal address like 0x76");
                return 0;
            }

            return Error is null ? int.Parse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture) : 0;
        }

        /// <summary>An enum by its lower-case wire name, matched exactly: "LOST" or "1" is not "lost".</summary>
        public TEnum Enum<TEnum>(string field)
            where TEnum : struct, Enum
        {
            string s = String(field);
            if (Error is not null)
            {
                return default;
            }

            foreach (TEnum v in System.Enum.GetValues<TEnum>())
            {
                if (string.Equals(v.ToString().ToLowerInvariant(), s, StringComparison.Ordinal))
                {
                    return v;
                }
            }

            Fail(field, $"'{Clip(s)}' is not one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}");
            return default;
        }

        public QualityFlags Flags(string field)
        {
            JsonElement? e = Get(field, JsonValueKind.Array, "an array");
            QualityFlags flags = QualityFlags.None;
            if (e is not { } arr)
            {
                return flags;
            }

            foreach (JsonElement item in arr.EnumerateArray())
            {
                string? name = item.ValueKind == JsonValueKind.String ? Text(field, item) : null;
                var match = FlagNames.FirstOrDefault(f => f.Name == name);
                if (match.Name is null)
                {
                    Fail(field, $"unknown flag '{item}'");
                    return flags;
                }

                flags |= match.Flag;
            }

            return flags;
        }

        public JsonElement? OptionalArray(string field) => Get(field, JsonValueKind.Array, "an array", optional: true);

        public List<string> StringArray(string field)
        {
            JsonElement? e = Get(field, JsonValueKind.Array, "an array");
            var list = new List<string>();
            if (e is { } arr)
            {
                foreach (JsonElement item in arr.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        Fail(field, "expected an array of strings");
                        break;
                    }

                    if (Text(field, item) is not { } text)
                    {
                        break;
                    }

                    list.Add(text);
                }
            }

            return list;
        }
    }
}

/// <summary>
/// One reusable buffer and JSON writer: serialising a message allocates nothing once the buffer has grown.
/// Not thread-safe; the returned memory is valid until the next call.
/// </summary>
public sealed class PayloadBuffer : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;

    public PayloadBuffer()
    {
        // Validation off: the writers above are trusted to produce well-formed JSON, and it costs per call.
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });
    }

    public ReadOnlyMemory<byte> Telemetry(in TelemetryMessage m)
    {
        Reset();
        ProtocolJson.WriteTelemetry(_writer, m);
        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    public ReadOnlyMemory<byte> Status(NodeStatusMessage m)
    {
        Reset();
        ProtocolJson.WriteStatus(_writer, m);
        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    public ReadOnlyMemory<byte> Alert(AlertMessage m)
    {
        Reset();
        ProtocolJson.WriteAlert(_writer, m);
        _writer.Flush();
        return _buffer.WrittenMemory;
    }

    private void Reset()
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
    }

    public void Dispose() => _writer.Dispose();
}
