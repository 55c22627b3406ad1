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

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}
