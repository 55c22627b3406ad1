using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using SensorKit.Gateway;
using SensorKit.Gateway.Connection;
using SensorKit.Gateway.Ingest;
using SensorKit.Node.Publishing;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Gateway;

/// <summary>The embedded broker's encrypted listener: PEM certificate and key, the real node publisher validating it, client certificates.</summary>
public sealed class BrokerTlsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_node_publishes_over_tls_with_validation_on_and_a_node_trusting_another_ca_is_refused()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var pki = new TestPki();
        using var other = new TestPki();
        int port = FreePort.Get();
        int tlsPort = FreePort.Get();
        Dictionary<string, string?> config = Hosts.GatewayConfig(port);
        config["Broker:Tls:CertificateFile"] = pki.ServerCertificateFile;
        config["Broker:Tls:KeyFile"] = pki.ServerKeyFile;
        config["Broker:Tls:Port"] = tlsPort.ToString(CultureInfo.InvariantCulture);
        using IHost gateway = Hosts.Gateway(config);
        await gateway.StartAsync(ct);
        await gateway.Services.GetRequiredService<GatewayConnection>().Ready.WaitAsync(Timeout, ct);
        await using MqttProbe probe = await MqttProbe.StartAsync(port);

        (IHost node, LogCollector logs) = TlsNode("tls-9", port, tlsPort, pki.CaFile);
        (IHost stranger, LogCollector strangerLogs) = TlsNode("tls-10", port, tlsPort, other.CaFile);
        await node.StartAsync(ct);
        await stranger.StartAsync(ct);
        try
        {
            await probe.WaitForAsync(m => m.Topic == Topics.Telemetry("test", "tls-9", "bme280", "temperature"), Timeout, "telemetry over TLS",
                () => string.Join('\n', logs.Lines.Select(l => l.Message)));
            Assert.True(node.Services.GetRequiredService<MqttPublisher>().IsConnected);

            await Wait.UntilAsync(() => strangerLogs.Lines.Any(l => l.Message.StartsWith("Cannot connect", StringComparison.Ordinal)), Timeout, "the refusal of the other CA");
            Assert.Contains(strangerLogs.Lines, l => l.Message.Contains("TLS: the broker's certificate does not chain to Mqtt:CaFile", StringComparison.Ordinal));
            Assert.False(stranger.Services.GetRequiredService<MqttPublisher>().IsConnected);
        }
        finally
        {
            await stranger.StopAsync(CancellationToken.None);
            await node.StopAsync(CancellationToken.None);
            await gateway.StopAsync(CancellationToken.None);
            stranger.Dispose();
            node.Dispose();
        }
    }

    [Fact]
    public async Task With_a_client_ca_only_clients_with_a_certificate_it_issued_get_in()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var pki = new TestPki();
        using var clients = new TestPki();
        using var strangers = new TestPki();
        int port = FreePort.Get();
        int tlsPort = FreePort.Get();
        TestAccount account = TestAccounts.Node(port, "test", "mtls-1");
        Dictionary<string, string?> config = Hosts.GatewayConfig(port);
        config["Broker:Tls:CertificateFile"] = pki.ServerCertificateFile;
        config["Broker:Tls:KeyFile"] = pki.ServerKeyFile;
        config["Broker:Tls:ClientCaFile"] = clients.CaFile;
        config["Broker:Tls:Port"] = tlsPort.ToString(CultureInfo.InvariantCulture);
        using IHost gateway = Hosts.Gateway(config);
        await gateway.StartAsync(ct);

        Assert.True(await TryConnectAsync(tlsPort, pki, account, clients.ClientCertificate(), ct));
        Assert.False(await TryConnectAsync(tlsPort, pki, account, strangers.ClientCertificate(), ct));
        Assert.False(await TryConnectAsync(tlsPort, pki, account, null, ct));
        await gateway.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("0.0.0.0", null, "Broker:Address: plain MQTT on 0.0.0.0 would carry passwords and data readable by anyone on the network")]
    [InlineData("127.0.0.1", "key-missing", "Broker:Tls:KeyFile: is required for the encrypted listener")]
    [InlineData("127.0.0.1", "not-pem", "Broker:Tls:CertificateFile: '")]
    [InlineData("127.0.0.1", "client-ca-alone", "Broker:Tls:ClientCaFile: client certificates need the encrypted listener")]
    public async Task Unsafe_or_unusable_listener_settings_stop_the_gateway_with_code_2_naming_the_key(string address, string? tls, string message)
    {
        using var pki = new TestPki();
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["Broker:Address"] = address;
        config["Broker:Tls:Port"] = FreePort.Get().ToString(CultureInfo.InvariantCulture);
        switch (tls)
        {
            case "key-missing":
                config["Broker:Tls:CertificateFile"] = pki.ServerCertificateFile;
                break;
            case "not-pem":
                config["Broker:Tls:CertificateFile"] = pki.CaFile + ".txt";
                config["Broker:Tls:KeyFile"] = pki.ServerKeyFile;
                await File.WriteAllTextAsync(pki.CaFile + ".txt", "not a certificate", TestContext.Current.CancellationToken);
                break;
            case "client-ca-alone":
                config["Broker:Tls:ClientCaFile"] = pki.CaFile;
                break;
        }

        using IHost host = Hosts.Gateway(config);
        var error = new StringWriter();
        int code = await GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
        Assert.Single(error.ToString().TrimEnd().Split('\n'));
    }

    private static (IHost Node, LogCollector Logs) TlsNode(string id, int port, int tlsPort, string caFile)
    {
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig(id, port);
        config["Mqtt:Broker"] = $"mqtts://127.0.0.1:{tlsPort}";
        config["Mqtt:CaFile"] = caFile;
        var logs = new LogCollector();
        return (Hosts.Node(config, s => s.AddSingleton<ILoggerProvider>(logs)), logs);
    }

    private static async Task<bool> TryConnectAsync(int tlsPort, TestPki server, TestAccount account, X509Certificate2? clientCertificate, CancellationToken ct)
    {
        using IMqttClient client = new MqttClientFactory().CreateMqttClient();
        MqttClientOptions options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", tlsPort)
            .WithClientId(account.ClientId)
            .WithCredentials(account.Name, account.Password)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(5))
            .WithTlsOptions(o =>
            {
                o.UseTls().WithTargetHost("127.0.0.1").WithTrustChain(server.Roots)
                    .WithRevocationMode(X509RevocationMode.NoCheck);
                if (clientCertificate is not null)
                {
                    o.WithClientCertificates([clientCertificate]);
                }
            })
            .Build();
        try
        {
            MqttClientConnectResult result = await client.ConnectAsync(options, ct);
            return result.ResultCode == MqttClientConnectResultCode.Success;
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException)
        {
            // The TLS handshake failed: refused.
            return false;
        }
    }

    /// <summary>A throwaway certificate authority and a server certificate for 127.0.0.1, made at run time and written as PEM files.</summary>
    private sealed class TestPki : IDisposable
    {
        private readonly RSA _caKey = RSA.Create(2048);
        private readonly X509Certificate2 _ca;
        private readonly List<X509Certificate2> _issued = [];

        public TestPki()
        {
            string dir = TestDirectories.Create("pki");
            var request = new CertificateRequest($"CN=sensorkit-test-ca-{Guid.NewGuid():N}", _caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            CaFile = Path.Combine(dir, "ca.pem");
            File.WriteAllText(CaFile, _ca.ExportCertificatePem());

            using RSA serverKey = RSA.Create(2048);
            using X509Certificate2 server = Issue("CN=127.0.0.1", serverKey, serverAuth: true);
            ServerCertificateFile = Path.Combine(dir, "server.pem");
            ServerKeyFile = Path.Combine(dir, "server.key");
            File.WriteAllText(ServerCertificateFile, server.ExportCertificatePem());
            File.WriteAllText(ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem());
            Roots = [X509CertificateLoader.LoadCertificate(_ca.RawData)];
        }

        public string CaFile { get; }

        public string ServerCertificateFile { get; }

        public string ServerKeyFile { get; }

        public X509Certificate2Collection Roots { get; }

        public X509Certificate2 ClientCertificate()
        {
            using RSA key = RSA.Create(2048);
            using X509Certificate2 issued = Issue("CN=mtls-1", key, serverAuth: false);
            using X509Certificate2 withKey = issued.CopyWithPrivateKey(key);
            X509Certificate2 exportable = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
            _issued.Add(exportable);
            return exportable;
        }

        private X509Certificate2 Issue(string subject, RSA key, bool serverAuth)
        {
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
            if (serverAuth)
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                request.CertificateExtensions.Add(san.Build());
            }

            byte[] serial = RandomNumberGenerator.GetBytes(12);
            serial[0] &= 0x7F;
            return request.Create(_ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(50), serial);
        }

        public void Dispose()
        {
            foreach (X509Certificate2 c in _issued)
            {
                c.Dispose();
            }

            foreach (X509Certificate2 c in Roots)
            {
                c.Dispose();
            }

            _ca.Dispose();
            _caKey.Dispose();
        }
    }
}
