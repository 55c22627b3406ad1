using System.Globalization;
using MQTTnet;
using MQTTnet.Protocol;
using SensorKit.Protocol;

namespace SensorKit.Demo;

/// <summary>
/// A plain MQTT subscriber on sensorkit/#, exactly what any other client would see, printed as
/// one compact line per node and window, plus alerts and health changes as they happen.
/// </summary>
public sealed class LiveView(TextWriter output, TimeProvider time) : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly Dictionary<string, SortedDictionary<string, TelemetryMessage>> _latest = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _health = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly DateTimeOffset _start = time.GetUtcNow();
    private readonly CancellationTokenSource _stop = new();
    private Task _printer = Task.CompletedTask;

    public int AlertsSeen { get; private set; }

    public async Task StartAsync(string host, int port, CancellationToken ct)
    {
        _client.ApplicationMessageReceivedAsync += e =>
        {
            byte[] payload = System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload);
            OnMessage(e.ApplicationMessage.Topic, payload);
            return Task.CompletedTask;
        };
        await _client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId("demo-view").Build(), ct);
        await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("sensorkit/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);
        _printer = PrintLoopAsync(_stop.Token);
    }

    private void OnMessage(string topic, byte[] payload)
    {
        if (payload.Length == 0)
        {
            return;
        }

        if (Topics.TryParseTelemetry(topic, out TelemetryTopic t) && ProtocolJson.TryReadTelemetry(payload, out TelemetryMessage m, out _))
        {
            lock (_lock)
            {
                if (!_latest.TryGetValue(t.Node, out SortedDictionary<string, TelemetryMessage>? channels))
                {
                    _latest[t.Node] = channels = new SortedDictionary<string, TelemetryMessage>(StringComparer.Ordinal);
                }

                channels[$"{t.Sensor}/{t.Quantity}"] = m;
                _dirty.Add(t.Node);
            }
        }
        else if (topic.Contains("/alerts/event/", StringComparison.Ordinal) && ProtocolJson.TryReadAlert(payload, out AlertMessage? a, out _))
        {
            AlertsSeen++;
            string verb = a.State switch
            {
                AlertState.Raised => "RAISED   ",
                AlertState.Updated => "UPDATED  ",
                AlertState.Cleared => "CLEARED  ",
                _ => "CANCELLED",
            };
            string measure = a.Measure == "change" ? $"{a.Quantity} change" : a.Quantity;
            string who = a.Audience == AlertAudience.Operator ? "operator" : "public";
            Write($"ALERT {verb} {a.Rule} at {a.Subject} [{a.Severity}/{a.Certainty}, {who}, nodes {string.Join(",", a.Nodes)}]: {a.Headline} ({measure} {Format(a.Quantity, a.Value, a.Unit)}, threshold {Format(a.Quantity, a.Threshold, a.Unit)})");
        }
        else if (Topics.TryParseStatus(topic, out _, out string node) && ProtocolJson.TryReadStatus(payload, out NodeStatusMessage? s, out _))
        {
            string health = $"{ProtocolJson.Name(s.State)}; " + string.Join(", ", s.Sensors.Select(x => $"{x.Id} {ProtocolJson.Name(x.Health)}{(x.LastError is null ? string.Empty : $" ({x.LastError})")}"));
            bool changed;
            lock (_lock)
            {
                changed = !_health.TryGetValue(node, out string? before) || before != health;
                _health[node] = health;
            }

            if (changed)
            {
                Write($"STATUS {node,-8} {health}");
            }
        }
    }

    private async Task PrintLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                PrintDirty();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private void PrintDirty()
    {
        List<string> lines = [];
        lock (_lock)
        {
            foreach (string node in _dirty.Order(StringComparer.Ordinal))
            {
                SortedDictionary<string, TelemetryMessage> channels = _latest[node];
                TelemetryMessage any = channels.Values.First();
                // One short line per node: the headline quantities only; "?" marks a doubtful aggregate.
                string values = string.Join("  ", Shown
                    .SelectMany(q => channels.Values.Where(c => c.Quantity == q.Quantity).Take(1).Select(c => (q.Label, Message: c)))
                    .Select(x => $"{x.Label} {Format(x.Message.Quantity, x.Message.Mean, x.Message.Unit)}{(x.Message.Flags == QualityFlags.None ? string.Empty : "?")}"));
                lines.Add($"{node,-8} {any.WindowEnd.UtcDateTime:HH:mm:ss}Z n={any.Count}/{any.Expected}  {values}");
            }

            _dirty.Clear();
        }

        foreach (string line in lines)
        {
            Write(line);
        }
    }

    private static readonly (string Quantity, string Label)[] Shown =
    [
        (Quantities.Temperature, "T"),
        (Quantities.HeatIndex, "feels"),
        (Quantities.Humidity, "RH"),
        (Quantities.Pressure, "p"),
        (Quantities.PressureTendency3h, "Δp3h"),
        (Quantities.WaterLevel, "level"),
        (Quantities.GasResistance, "gas"),
        (Quantities.Co2, "CO2"),
    ];

    private static string Format(string quantity, double value, string unit)
    {
        if (unit is "%" or "s" or "count")
        {
            return string.Create(CultureInfo.InvariantCulture, $"{value:0} {unit}");
        }

        return quantity switch
        {
            Quantities.HeatIndex => string.Create(CultureInfo.InvariantCulture, $"{value:0.0} °C"),
            Quantities.PressureTendency3h => string.Create(CultureInfo.InvariantCulture, $"{value / 100:+0.0;-0.0} hPa"),
            Quantities.Pressure => string.Create(CultureInfo.InvariantCulture, $"{value / 100:0.0} hPa"),
            Quantities.Temperature => string.Create(CultureInfo.InvariantCulture, $"{value:0.0} °C"),
            Quantities.Humidity => string.Create(CultureInfo.InvariantCulture, $"{value:0.0} %RH"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{value:0.###} {unit}"),
        };
    }

    private void Write(string line)
    {
        TimeSpan elapsed = time.GetUtcNow() - _start;
        lock (output)
        {
            output.WriteLine($"[+{(int)elapsed.TotalMinutes:00}:{elapsed.Seconds:00}] {line}");
        }
    }

    public Task FlushAsync()
    {
        PrintDirty();
        return output.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _printer;
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build());
        }

        _client.Dispose();
        _stop.Dispose();
    }
}
