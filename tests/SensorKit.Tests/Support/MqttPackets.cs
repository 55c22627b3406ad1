using System.Text;

namespace SensorKit.Tests.Support;

/// <summary>
/// MQTT packets built by hand (MQTT 3.1.1 §3 and 5.0 §3), for what a client library refuses to send, and seeded
/// damage to them. Shared by the tests and the benchmark commands.
/// </summary>
internal static class MqttPackets
{
    public static byte[] Connect(byte level, string clientId, byte flags = 0x02, byte[]? rawClientId = null, string? user = null)
    {
        var body = new List<byte>();
        body.AddRange(Str("MQTT"));
        body.Add(level);
        body.Add(user is null ? flags : (byte)(flags | 0x80));
        body.AddRange([0x00, 0x3C]);
        if (level == 5)
        {
            body.Add(0); // no properties
        }

        body.AddRange(rawClientId is null ? Str(clientId) : [(byte)(rawClientId.Length >> 8), (byte)rawClientId.Length, .. rawClientId]);
        if (user is not null)
        {
            body.AddRange(Str(user));
        }

        return Packet(0x10, [.. body]);
    }

    public static byte[] Publish(byte level, string topic, byte[] payload, ushort packetId = 1, byte[]? rawTopic = null)
    {
        var body = new List<byte>();
        body.AddRange(rawTopic is null ? Str(topic) : [(byte)(rawTopic.Length >> 8), (byte)rawTopic.Length, .. rawTopic]);
        body.AddRange([(byte)(packetId >> 8), (byte)packetId]);
        if (level == 5)
        {
            body.Add(0);
        }

        body.AddRange(payload);
        return Packet(0x32, [.. body]);
    }

    public static byte[] Packet(byte type, byte[] body)
    {
        var p = new List<byte> { type };
        int n = body.Length;
        do
        {
            byte b = (byte)(n % 128);
            n /= 128;
            p.Add(n > 0 ? (byte)(b | 0x80) : b);
        }
        while (n > 0);
        p.AddRange(body);
        return [.. p];
    }

    private static byte[] Str(string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        return [(byte)(b.Length >> 8), (byte)b.Length, .. b];
    }

    public static byte[] Mutate(Random r, byte[] packet)
    {
        byte[] copy = [.. packet];
        for (int i = r.Next(1, 6); i > 0; i--)
        {
            copy[r.Next(copy.Length)] = (byte)r.Next(256);
        }

        return copy;
    }

    public static byte[] RandomBytes(Random r)
    {
        byte[] b = new byte[r.Next(1, 256)];
        r.NextBytes(b);
        return b;
    }
}
