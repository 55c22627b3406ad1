using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Server;

namespace SensorKit.Gateway.Broker.Transport;

/// <summary>What the transport did with a connection, for the broker's counters and its rate-limited log.</summary>
public interface ITransportEvents
{
    void ConnectionRefused(string reason, EndPoint? remote);

    void FrameViolation(MqttFrameViolationException violation, EndPoint? remote);

    /// <summary>A message not sent to a client: expired (reason "expired"), or larger than the client accepts.</summary>
    void Dropped(string reason, string? clientId);
}

/// <summary>
/// The embedded broker's TCP (and TLS) listeners, in place of MQTTnet's own: the same sockets and channel adapters,
/// with a cap on open connections, a deadline for the TLS handshake, and an <see cref="MqttFrameGuard"/> on every
/// connection, so a declared length is checked before MQTTnet allocates it.
/// </summary>
internal sealed class GuardedTcpServerAdapter(BrokerLimits limits, ITransportEvents events, BrokerSessions sessions, DeliveryLedger ledger, TimeProvider time)
    : IMqttServerAdapter
{
    private readonly List<Socket> _listeners = [];
    private CancellationTokenSource? _stopping;
    private int _open;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    /// <summary>Connections open right now, authenticated or not.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    public Task StartAsync(MqttServerOptions options, IMqttNetLogger logger)
    {
        _stopping = new CancellationTokenSource();
        if (options.DefaultEndpointOptions.IsEnabled)
        {
            Listen(options, options.DefaultEndpointOptions, tls: null, logger);
        }

        if (options.TlsEndpointOptions is { IsEnabled: true } tls)
        {
            Listen(options, tls, tls, logger);
        }

        return Task.CompletedTask;
    }

    private void Listen(MqttServerOptions options, MqttServerTcpEndpointBaseOptions endpoint, MqttServerTlsTcpEndpointOptions? tls, IMqttNetLogger logger)
    {
        foreach (IPAddress address in new[] { endpoint.BoundInterNetworkAddress, endpoint.BoundInterNetworkV6Address })
        {
            if (address.Equals(IPAddress.None))
            {
                continue;
            }

            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (address.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = false;
                }

                socket.NoDelay = endpoint.NoDelay;
                socket.Bind(new IPEndPoint(address, endpoint.Port));
                socket.Listen(endpoint.ConnectionBacklog);
            }
            catch (SocketException) when (address.AddressFamily == AddressFamily.InterNetworkV6 && IPAddress.IsLoopback(address) && !Socket.OSSupportsIPv6)
            {
                // A machine without IPv6: the IPv4 listener serves alone.
                socket.Dispose();
                continue;
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            endpoint.Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            _listeners.Add(socket);
            _ = AcceptAsync(socket, options, endpoint, tls, logger, _stopping!.Token);
        }
    }

    private async Task AcceptAsync(Socket listener, MqttServerOptions options, MqttServerTcpEndpointBaseOptions endpoint, MqttServerTlsTcpEndpointOptions? tls, IMqttNetLogger logger, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.OperationAborted)
            {
                continue;
            }

            if (Interlocked.Increment(ref _open) > limits.MaxConnections)
            {
                Interlocked.Decrement(ref _open);
                events.ConnectionRefused("too-many-connections", client.RemoteEndPoint);
                client.Dispose();
                continue;
            }

            _ = Task.Run(() => ServeAsync(client, options, endpoint, tls, logger, ct), CancellationToken.None);
        }
    }

    private async Task ServeAsync(Socket socket, MqttServerOptions options, MqttServerTcpEndpointBaseOptions endpoint, MqttServerTlsTcpEndpointOptions? tls, IMqttNetLogger logger, CancellationToken ct)
    {
        EndPoint? remote = socket.RemoteEndPoint;
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            socket.NoDelay = endpoint.NoDelay;
            X509Certificate2? clientCertificate = null;
            if (tls is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false, tls.RemoteCertificateValidationCallback);
                stream = ssl;
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(ct);
                handshake.CancelAfter(limits.ConnectTimeout);
                await ssl.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificate = tls.CertificateProvider.GetCertificate(),
                        ClientCertificateRequired = tls.ClientCertificateRequired,
                        EnabledSslProtocols = tls.SslProtocol,
                        CertificateRevocationCheckMode = tls.CheckCertificateRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck,
                        EncryptionPolicy = EncryptionPolicy.RequireEncryption,
                        CipherSuitesPolicy = tls.CipherSuitesPolicy,
                    },
                    handshake.Token).ConfigureAwait(false);
                clientCertificate = ssl.RemoteCertificate is null ? null : ssl.RemoteCertificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate.Export(X509ContentType.Cert));
            }

            var guard = new MqttFrameGuard(limits.MaxConnectBytes, limits.MaxPacketBytes);
            var guarded = new GuardedStream(stream, guard, e => events.FrameViolation(e, remote));
            var channel = new MqttTcpChannel(guarded, socket.LocalEndPoint, remote, clientCertificate);
            var formatter = new MqttPacketFormatterAdapter(new MqttBufferWriter(options.WriterBufferSize, options.WriterBufferSizeMax));
            var mqttnet = new MqttChannelAdapter(channel, formatter, logger) { AllowPacketFragmentation = endpoint.AllowPacketFragmentation };
            using var adapter = new GuardedChannelAdapter(mqttnet, guard, limits, ledger, sessions, events, time);
            if (ClientHandler is { } handler)
            {
                await handler(adapter).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            // The client went away, or failed its TLS handshake: nothing of it reached the broker.
            events.ConnectionRefused(tls is not null && !(stream is SslStream { IsAuthenticated: true }) ? "tls-handshake" : "connection-error", remote);
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            Interlocked.Decrement(ref _open);
        }
    }

    public Task StopAsync()
    {
        Stop();
        return Task.CompletedTask;
    }

    private void Stop()
    {
        _stopping?.Cancel();
        foreach (Socket s in _listeners)
        {
            s.Dispose();
        }

        _listeners.Clear();
        _stopping?.Dispose();
        _stopping = null;
    }

    public void Dispose() => Stop();
}
