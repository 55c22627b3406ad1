using System.Buffers;
using System.Text.Json;
using SensorKit.Node.Configuration;
using SensorKit.Node.Pipeline;
using SensorKit.Node.Sampling;
using SensorKit.Protocol;

namespace SensorKit.Node.Publishing;

/// <summary>
/// Home Assistant MQTT discovery: one retained config message per channel, so Home Assistant shows
/// each of the node's sensors with its unit and device class, marks them unavailable when the node
/// is not online, and when a value is older than three windows. Backfilled windows do not change the
/// shown state (they are history, not the current value).
/// </summary>
public static class HomeAssistantDiscovery
{
    public static IEnumerable<(string Topic, byte[] Payload)> Messages(HomeAssistantOptions ha, NodeOptions node, SensorRegistry sensors, string firmware)
    {
        string device = $"sensorkit_{node.Site}_{node.Id}";
        int expireAfter = (int)Math.Ceiling(3 * node.Window.TotalSeconds);
        foreach (SensorSlot slot in sensors.Slots)
        {
            foreach (ChannelId channel in slot.Channels)
            {
                string objectId = $"{channel.Sensor}_{channel.Quantity}";
                string topic = $"{ha.DiscoveryPrefix}/sensor/{device}/{objectId}/config";
                (string unit, string? deviceClass) = HomeAssistantUnit(channel);
                var buffer = new ArrayBufferWriter<byte>(1024);
                using (var w = new Utf8JsonWriter(buffer))
                {
                    w.WriteStartObject();
                    w.WriteString("name", $"{channel.Sensor} {channel.Quantity}");
                    w.WriteString("unique_id", $"{device}_{objectId}");
                    w.WriteString("state_topic", Topics.Telemetry(node.Site, node.Id, channel.Sensor, channel.Quantity));
                    w.WriteString("value_template", "{{ states(entity_id) if value_json.backfill else value_json.mean }}");
                    w.WriteString("json_attributes_topic", Topics.Telemetry(node.Site, node.Id, channel.Sensor, channel.Quantity));
                    w.WriteString("json_attributes_template", "{{ {'min': value_json.min, 'max': value_json.max, 'quality': value_json.quality, 'window_end': value_json.end} | tojson }}");
                    w.WriteString("unit_of_measurement", unit);
                    if (deviceClass is not null)
                    {
                        w.WriteString("device_class", deviceClass);
                    }

                    w.WriteString("state_class", "measurement");
                    w.WriteNumber("expire_after", expireAfter);
                    w.WriteString("availability_topic", Topics.Status(node.Site, node.Id));
                    w.WriteString("availability_template", "{{ 'online' if value_json.state == 'online' else 'offline' }}");
                    w.WriteNumber("qos", 1);
                    w.WriteStartObject("device");
                    w.WriteStartArray("identifiers");
                    w.WriteStringValue(device);
                    w.WriteEndArray();
                    w.WriteString("name", $"SensorKit {node.Site} {node.Id}");
                    w.WriteString("manufacturer", "SensorKit");
                    w.WriteString("model", "sensor node");
                    w.WriteString("sw_version", firmware);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                yield return (topic, buffer.WrittenSpan.ToArray());
            }
        }
    }

    /// <summary>Home Assistant's unit symbol and sensor device class for a SenML unit; no device class where Home Assistant has none.</summary>
    public static (string Unit, string? DeviceClass) HomeAssistantUnit(ChannelId channel) => channel.Unit switch
    {
        Units.Celsius => ("°C", "temperature"),
        Units.RelativeHumidityPercent => ("%", "humidity"),
        Units.Pascal => ("Pa", "atmospheric_pressure"),
        Units.Metre => ("m", "distance"),
        Units.Volt => ("V", "voltage"),
        Units.Ampere => ("A", "current"),
        Units.Watt => ("W", "power"),
        Units.Lux => ("lx", "illuminance"),
        Units.Ohm => ("Ω", null),
        Units.PartsPerMillion => ("ppm", channel.Quantity == Quantities.Co2 ? "carbon_dioxide" : null),
        Units.GramPerCubicMetre => ("g/m³", null),
        _ => (channel.Unit, null),
    };
}
