using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SensorKit.Node.Publishing;
using SensorKit.Protocol;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.EndToEnd;

/// <summary>How a node proves who it is and checks who it talks to: credentials, TLS, pinning; and Home Assistant discovery.</summary>
public sealed class ConnectionTests
{
    [Fact]
    public async Task Refused_credentials_are_logged_once_without_the_password_retried_with_backoff_and_a_fixed_password_is_picked_up()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        await using TestBroker broker = await TestBroker.StartAsync(port, account: ("river-3", "right-secret"));
        string passwordFile = Path.Combine(TestDirectories.Create("secret"), "mqtt-password");
        await File.WriteAllTextAsync(passwordFile, "wrong-secret\n", ct);

        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("cred-1", port);
        config["Mqtt:Username"] = "river-3";
        config["Mqtt:PasswordFile"] = passwordFile;
        var logs = new LogCollector();
        using IHost node = Hosts.Node(config, s => s.AddSingleton<ILoggerProvider>(logs));
        var clock = Stopwatch.StartNew();
        await node.StartAsync(ct);
        try
        {
            await Wait.UntilAsync(() => broker.NodeConnectAttempts >= 6, TimeSpan.FromSeconds(20), "six connect attempts");
            TimeSpan sixAttempts = clock.Elapsed;

            string[] refused = logs.Lines.Where(l => l.Message.Contains("refused the credentials of user 'river-3'", StringComparison.Ordinal)).Select(l => l.Message).ToArray();
            string line = Assert.Single(refused);
            Assert.Contains("BadUserNameOrPassword", line, StringComparison.Ordinal);
            Assert.Contains("Mqtt:PasswordFile", line, StringComparison.Ordinal);
            Assert.DoesNotContain(logs.Lines, l => l.Message.Contains("secret", StringComparison.Ordinal));
            // Backoff, not a tight loop: the waits between the first six attempts add up to at least 50+100+200+400+500 ms.
            Assert.True(sixAttempts > TimeSpan.FromSeconds(1), $"six attempts within {sixAttempts.TotalMilliseconds:0} ms");

            // The password is read at every connect: fixing the file is enough.
            await File.WriteAllTextAsync(passwordFile, "right-secret\n", ct);
            await Wait.UntilAsync(() => node.Services.GetRequiredService<MqttPublisher>().IsConnected, TimeSpan.FromSeconds(10), "a connection with the fixed password");
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Tls_connects_to_a_broker_whose_certificate_chains_to_the_configured_ca_and_refuses_a_wrong_pin_or_an_unknown_ca()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using X509Certificate2 brokerCertificate = SelfSigned("127.0.0.1");
        using X509Certificate2 otherCertificate = SelfSigned("127.0.0.1");
        string dir = TestDirectories.Create("tls");
        string caFile = Path.Combine(dir, "broker-ca.pem");
        await File.WriteAllTextAsync(caFile, brokerCertificate.ExportCertificatePem(), ct);
        string pin = Convert.ToHexString(SHA256.HashData(brokerCertificate.RawData));
        string wrongPin = Convert.ToHexString(SHA256.HashData(otherCertificate.RawData));

        int port = FreePort.Get();
        await using TestBroker broker = await TestBroker.StartAsync(port, certificate: brokerCertificate);

        // Trusted through Mqtt:CaFile and pinned (colons allowed, as openssl prints it).
        (bool connected, string log) = await TryConnectAsync(port, ("Mqtt:CaFile", caFile), ("Mqtt:CertificateFingerprint", string.Join(':', pin.Chunk(2).Select(c => new string(c)))));
        Assert.True(connected, log);

        // The right CA but a different pin.
        (connected, log) = await TryConnectAsync(port, ("Mqtt:CaFile", caFile), ("Mqtt:CertificateFingerprint", wrongPin));
        Assert.False(connected);
        Assert.Contains("not the pinned Mqtt:CertificateFingerprint", log, StringComparison.Ordinal);

        // No CA configured: the system does not trust a self-signed broker.
        (connected, log) = await TryConnectAsync(port);
        Assert.False(connected);
        Assert.Contains("TLS: the broker's certificate is not trusted", log, StringComparison.Ordinal);
    }

    private static async Task<(bool Connected, string Log)> TryConnectAsync(int port, params (string Key, string Value)[] settings)
    {
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("tls-1", port);
        config["Mqtt:Broker"] = $"mqtts://127.0.0.1:{port}";
        foreach ((string key, string value) in settings)
        {
            config[key] = value;
        }

        var logs = new LogCollector();
        using IHost node = Hosts.Node(config, s => s.AddSingleton<ILoggerProvider>(logs));
        await node.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            MqttPublisher publisher = node.Services.GetRequiredService<MqttPublisher>();
            try
            {
                await Wait.UntilAsync(() => publisher.IsConnected || logs.Lines.Any(l => l.Message.StartsWith("Cannot connect", StringComparison.Ordinal)), TimeSpan.FromSeconds(15), "a connection or a refusal");
            }
            catch (TimeoutException e)
            {
                return (false, e.Message + string.Join('\n', logs.Lines.Select(l => l.Message)));
            }

            return (publisher.IsConnected, string.Join('\n', logs.Lines.Select(l => l.Message)));
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Home_assistant_discovery_announces_every_channel_with_unit_device_class_and_availability()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        int port = FreePort.Get();
        await using TestBroker broker = await TestBroker.StartAsync(port);
        await using MqttProbe probe = await MqttProbe.StartAsync(port, "homeassistant/#");
        Dictionary<string, string?> config = Hosts.SimulatedNodeConfig("ha-1", port);
        config["HomeAssistant:Enabled"] = "true";
        using IHost node = Hosts.Node(config);
        await node.StartAsync(ct);
        try
        {
            var expected = new Dictionary<string, (string Unit, string DeviceClass)>
            {
                ["temperature"] = ("°C", "temperature"),
                ["humidity"] = ("%", "humidity"),
                ["pressure"] = ("Pa", "atmospheric_pressure"),
            };
            foreach ((string quantity, (string unit, string deviceClass)) in expected)
            {
                string topic = $"homeassistant/sensor/sensorkit_test_ha-1/bme280_{quantity}/config";
                MqttProbe.Received m = await probe.WaitForAsync(r => r.Topic == topic, TimeSpan.FromSeconds(15), topic);
                using JsonDocument doc = JsonDocument.Parse(m.Payload);
                JsonElement c = doc.RootElement;
                Assert.Equal(unit, c.GetProperty("unit_of_measurement").GetString());
                Assert.Equal(deviceClass, c.GetProperty("device_class").GetString());
                Assert.Equal("measurement", c.GetProperty("state_class").GetString());
                Assert.Equal(Topics.Telemetry("test", "ha-1", "bme280", quantity), c.GetProperty("state_topic").GetString());
                Assert.Equal(Topics.Status("test", "ha-1"), c.GetProperty("availability_topic").GetString());
                Assert.Equal($"sensorkit_test_ha-1_bme280_{quantity}", c.GetProperty("unique_id").GetString());
                Assert.Equal("sensorkit_test_ha-1", c.GetProperty("device").GetProperty("identifiers")[0].GetString());
                // Three windows of one second.
                Assert.Equal(3, c.GetProperty("expire_after").GetInt32());
            }
        }
        finally
        {
            await node.StopAsync(CancellationToken.None);
        }
    }

    private static X509Certificate2 SelfSigned(string ip)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=sensorkit-test-broker", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Parse(ip));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // A certificate with an exportable private key, as the server's TLS stack needs on Linux.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null, X509KeyStorageFlags.Exportable);
    }
}
