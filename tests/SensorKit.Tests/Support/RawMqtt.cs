using System.Net.Sockets;
using System.Text;

namespace SensorKit.Tests.Support;

/// <summary>
/// Hand-built MQTT packets on a bare socket, for what a well-behaved client library refuses to send: wrong flags,
/// wildcard topics, invalid UTF-8, lengths that lie.
/// </summary>
internal sealed class RawMqtt : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawMqtt(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawMqtt> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync("127.0.0.1", port, TestContext.Current.CancellationToken);
        return new RawMqtt(tcp);
    }

    public Task SendAsync(byte[] bytes) => _stream.WriteAsync(bytes, TestContext.Current.CancellationToken).AsTask();

    /// <summary>The next packet as (type byte, body), or null when the broker closed the connection.</summary>
    public async Task<(byte Type, byte[] Body)?> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            byte[] one = new byte[1];
            if (await _stream.ReadAsync(one, cts.Token) == 0)
            {
                return null;
            }

            byte type = one[0];
            int length = 0;
            int multiplier = 1;
            byte b;
            do
            {
                if (await _stream.ReadAsync(one, cts.Token) == 0)
                {
                    return null;
                }

                b = one[0];
                length += (b & 0x7F) * multiplier;
                multiplier *= 128;
            }
            while ((b & 0x80) != 0);
            byte[] body = new byte[length];
            await _stream.ReadExactlyAsync(body, cts.Token);
            return (type, body);
        }
        catch (IOException)
        {
            return null;
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException("no packet and no close from the broker");
        }
    }

    /// <summary>True when the broker closes the connection (after any packets it sends first) within the timeout.</summary>
    public async Task<bool> ClosedAsync(TimeSpan? timeout = null)
    {
        for (int i = 0; i < 16; i++)
        {
            if (await ReadAsync(timeout) is null)
            {
                return true;
            }
        }

        return false;
    }

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

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
