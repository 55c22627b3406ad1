using System.Buffers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SensorKit.Gateway;
using SensorKit.Gateway.Alerts.Cap;
using SensorKit.Protocol;
using SensorKit.Tests.Gateway.Alerting;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Configuration;

/// <summary>
/// Cap:Signing: a configured key pair is checked at start (exit code 2, one line naming the key); without one the
/// gateway generates its own once, in the state folder, and keeps it.
/// </summary>
public sealed class CapSigningConfigurationTests
{
    private const string CertificateKey = "Cap:Signing:CertificateFile";
    private const string KeyKey = "Cap:Signing:KeyFile";

    [Theory]
    [InlineData("certificate only", "Cap:Signing:KeyFile: missing, but Cap:Signing:CertificateFile is set")]
    [InlineData("key only", "Cap:Signing:CertificateFile: missing, but Cap:Signing:KeyFile is set")]
    [InlineData("missing certificate file", "Cap:Signing:CertificateFile: cannot read ")]
    [InlineData("missing key file", "Cap:Signing:KeyFile: cannot read ")]
    [InlineData("key of another certificate", "Cap:Signing:KeyFile: the key in ")]
    [InlineData("key file as certificate", "Cap:Signing:CertificateFile: ")]
    [InlineData("encrypted key", "Cap:Signing:KeyFile: ")]
    [InlineData("expired certificate", "Cap:Signing:CertificateFile: the certificate in ")]
    [InlineData("ECDSA certificate", "Cap:Signing:CertificateFile: the certificate in ")]
    public async Task Bad_signing_configuration_exits_with_one_line_naming_the_key(string setup, string expected)
    {
        string dir = TestDirectories.Create("cap-signing-config");
        string certificate = Path.Combine(dir, "cert.pem");
        string key = Path.Combine(dir, "key.pem");
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config[CertificateKey] = ExampleSigningKey.CertificateFile;
        config[KeyKey] = ExampleSigningKey.KeyFile;
        switch (setup)
        {
            case "certificate only":
                config[KeyKey] = null;
                break;
            case "key only":
                config[CertificateKey] = null;
                break;
            case "missing certificate file":
                config[CertificateKey] = certificate;
                break;
            case "missing key file":
                config[KeyKey] = key;
                break;
            case "key of another certificate":
                using (RSA other = RSA.Create(2048))
                {
                    File.WriteAllText(key, other.ExportPkcs8PrivateKeyPem());
                }

                config[KeyKey] = key;
                expected += $"{key} does not belong to the certificate in {ExampleSigningKey.CertificateFile}";
                break;
            case "key file as certificate":
                config[CertificateKey] = ExampleSigningKey.KeyFile;
                expected += $"{ExampleSigningKey.KeyFile} holds no PEM certificate";
                break;
            case "encrypted key":
                using (RSA rsa = RSA.Create())
                {
                    rsa.ImportFromPem(File.ReadAllText(ExampleSigningKey.KeyFile));
                    File.WriteAllText(key, rsa.ExportEncryptedPkcs8PrivateKeyPem("secret", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000)));
                }

                config[KeyKey] = key;
                expected += $"{key} holds no unencrypted PEM RSA private key";
                break;
            case "expired certificate":
                WritePair(RSA.Create(2048), certificate, key, DateTimeOffset.UtcNow.AddYears(-2), DateTimeOffset.UtcNow.AddYears(-1));
                (config[CertificateKey], config[KeyKey]) = (certificate, key);
                expected += $"{certificate} is valid from ";
                break;
            case "ECDSA certificate":
                WritePair(ECDsa.Create(ECCurve.NamedCurves.nistP256), certificate, key, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
                (config[CertificateKey], config[KeyKey]) = (certificate, key);
                expected += $"{certificate} has no RSA key";
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(setup), setup, null);
        }

        using IHost host = Hosts.Gateway(config);
        var error = new StringWriter();
        int code = await GatewayHost.RunAsync(host, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.Single(error.ToString().TrimEnd().Split('\n'));
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_configured_key_the_gateway_generates_one_at_start_and_keeps_it()
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        string state = TestDirectories.Create("cap-signing-state");
        string certificateFile = Path.Combine(state, "cap-signing-cert.pem");
        string keyFile = Path.Combine(state, "cap-signing-key.pem");
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["State:Directory"] = state;
        config["Cap:Sender"] = "gw.sensorkit.test";
        config[CertificateKey] = null;
        config[KeyKey] = null;

        var logs = new LogCollector();
        string fingerprint;
        using (IHost first = Hosts.Gateway(config, s => s.AddSingleton<ILoggerProvider>(logs)))
        {
            await first.StartAsync(ct);
            fingerprint = first.Services.GetRequiredService<CapSigner>().Fingerprint;
            await first.StopAsync(ct);
        }

        using (X509Certificate2 generated = X509Certificate2.CreateFromPemFile(certificateFile, keyFile))
        {
            Assert.Equal("CN=gw.sensorkit.test, O=\"SensorKit gateway, self-signed CAP signing key\"", generated.Subject);
            Assert.Equal(fingerprint, string.Join(':', Convert.ToHexString(generated.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(c => new string(c))));
            Assert.Equal(3072, generated.GetRSAPublicKey()!.KeySize);
        }

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }

        // Logged at start: the generation once, then which certificate signs, with the fingerprint consumers pin.
        Assert.Single(logs.Lines, l => l.Message.Contains($"generated a self-signed one, certificate {certificateFile}", StringComparison.Ordinal));
        Assert.Single(logs.Lines, l => l.Message.Contains($"CAP messages are signed with the certificate {certificateFile}, SHA-256 fingerprint {fingerprint}", StringComparison.Ordinal));

        // A restart signs with the same key, and says so without generating again.
        var again = new LogCollector();
        using (IHost second = Hosts.Gateway(config, s => s.AddSingleton<ILoggerProvider>(again)))
        {
            await second.StartAsync(ct);
            Assert.Equal(fingerprint, second.Services.GetRequiredService<CapSigner>().Fingerprint);
            await second.StopAsync(ct);
        }

        Assert.DoesNotContain(again.Lines, l => l.Message.Contains("generated", StringComparison.Ordinal));
        Assert.Single(again.Lines, l => l.Message.Contains($"SHA-256 fingerprint {fingerprint}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Messages_signed_with_a_generated_key_verify_with_xmlsec1_against_its_certificate()
    {
        // Today's date: xmlsec1 checks the certificate's validity against the real clock.
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using AlertingHarness h = AlertingHarness.Start(
            """
            { "Threshold": [ { "Id": "level", "Quantity": "water-level", "Above": 6.20, "Hysteresis": 0.10, "Hold": "00:02:00", "Category": "Met",
              "Text": { "de-DE": { "Event": "Hochwasser", "Headline": "Hochwasser" }, "en-US": { "Event": "Flood", "Headline": "Flood" } } } ] }
            """,
            new() { [CertificateKey] = null, [KeyKey] = null },
            now);
        h.Status("test", "n1");
        for (int m = 1; m <= 10; m++)
        {
            h.Telemetry("test", "n1", Quantities.WaterLevel, 6.9, now.AddMinutes(m));
        }

        byte[] document = h.Mqtt.First(m => m.ContentType == CapWriter.MediaType).Payload.ToArray();
        string certificateFile = Path.Combine(h.StateDirectory, "cap-signing-cert.pem");
        (int exit, string output) = await Xmlsec1.VerifyAsync(document, certificateFile);
        Assert.True(exit == 0, output);
        (exit, output) = await Xmlsec1.VerifyAsync(document, ExampleSigningKey.CertificateFile);
        Assert.True(exit != 0, output);
    }

    [Fact]
    public async Task A_generated_certificate_whose_key_is_gone_stops_the_gateway_instead_of_replacing_it()
    {
        string state = TestDirectories.Create("cap-signing-state");
        Dictionary<string, string?> config = Hosts.GatewayConfig(FreePort.Get());
        config["State:Directory"] = state;
        config[CertificateKey] = null;
        config[KeyKey] = null;
        using (IHost first = Hosts.Gateway(config))
        {
            _ = first.Services.GetRequiredService<CapSigner>();
        }

        File.Delete(Path.Combine(state, "cap-signing-key.pem"));
        using IHost second = Hosts.Gateway(config);
        var error = new StringWriter();
        int code = await GatewayHost.RunAsync(second, error, TestContext.Current.CancellationToken);

        Assert.Equal(2, code);
        Assert.Single(error.ToString().TrimEnd().Split('\n'));
        Assert.Contains($"Cap:Signing: {Path.Combine(state, "cap-signing-key.pem")} is missing beside the gateway's generated certificate", error.ToString(), StringComparison.Ordinal);
    }

    private static void WritePair(AsymmetricAlgorithm key, string certificateFile, string keyFile, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using (key)
        {
            CertificateRequest request = key switch
            {
                RSA rsa => new CertificateRequest("CN=test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                ECDsa ec => new CertificateRequest("CN=test", ec, HashAlgorithmName.SHA256),
                _ => throw new ArgumentException("RSA or ECDSA", nameof(key)),
            };
            using X509Certificate2 certificate = request.CreateSelfSigned(notBefore, notAfter);
            File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        }
    }
}
