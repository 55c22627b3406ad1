using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Server;

namespace SensorKit.Gateway.Broker;

/// <summary>The embedded broker's encrypted listener (Broker:Tls): certificate and key from PEM files, optional client certificates.</summary>
public static class BrokerTls
{
    /// <summary>Adds the encrypted endpoint when Broker:Tls is configured; a file that cannot be used stops the gateway naming its key.</summary>
    public static void AddEncryptedEndpoint(MqttServerOptionsBuilder builder, BrokerOptions options)
    {
        BrokerTlsOptions tls = options.Tls;
        if (!tls.Enabled)
        {
            return;
        }

        const string s = BrokerOptions.Section + ":Tls";
        X509Certificate2 certificate = LoadServerCertificate(tls.CertificateFile!, tls.KeyFile!);
        IPAddress ip = IPAddress.Parse(tls.Address ?? options.Address);
        builder.WithEncryptedEndpoint()
            .WithEncryptedEndpointPort(tls.Port)
            .WithEncryptionCertificate(certificate)
            .WithEncryptionSslProtocol(SslProtocols.Tls12 | SslProtocols.Tls13);
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            builder.WithEncryptedEndpointBoundIPAddress(IPAddress.None).WithEncryptedEndpointBoundIPV6Address(ip);
        }
        else
        {
            builder.WithEncryptedEndpointBoundIPAddress(ip)
                .WithEncryptedEndpointBoundIPV6Address(IPAddress.IsLoopback(ip) ? IPAddress.IPv6Loopback : IPAddress.IPv6Any);
        }

        if (!string.IsNullOrEmpty(tls.ClientCaFile))
        {
            X509Certificate2Collection roots = LoadCertificates(tls.ClientCaFile, $"{s}:ClientCaFile");
            builder.WithClientCertificate((_, presented, _, errors) => IsTrustedClient(presented, roots, errors));
        }
    }

    public static X509Certificate2 LoadServerCertificate(string certificateFile, string keyFile)
    {
        const string s = BrokerOptions.Section + ":Tls";
        try
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            if (!pem.HasPrivateKey)
            {
                throw new GatewayConfigurationException($"{s}:KeyFile: '{keyFile}' holds no private key for '{certificateFile}'");
            }

            // The TLS server on Linux needs the key in a certificate it can export, as a PKCS#12 import gives.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new GatewayConfigurationException($"{s}:CertificateFile: '{certificateFile}' with {s}:KeyFile '{keyFile}' is not a usable PEM certificate and key: {e.Message}", e);
        }
    }

    private static X509Certificate2Collection LoadCertificates(string path, string key)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new GatewayConfigurationException($"{key}: cannot read '{path}': {e.Message}", e);
        }

        return roots.Count > 0 ? roots : throw new GatewayConfigurationException($"{key}: '{path}' holds no PEM certificate");
    }

    /// <summary>A client certificate must chain to Broker:Tls:ClientCaFile alone; the system's roots are not asked.</summary>
    private static bool IsTrustedClient(X509Certificate? presented, X509Certificate2Collection roots, SslPolicyErrors errors)
    {
        if (presented is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return false;
        }

        using X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        // Revocation lists are often out of reach where nodes are deployed; the CA file is the trust decision.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        return chain.Build(certificate);
    }
}
