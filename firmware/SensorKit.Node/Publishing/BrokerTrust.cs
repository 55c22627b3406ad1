using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SensorKit.Node.Configuration;

namespace SensorKit.Node.Publishing;

/// <summary>
/// Decides whether the broker's TLS certificate is trusted: the chain must end at a trusted root
/// (the system's, or the one in Mqtt:CaFile), the name must match the broker's host, and with
/// Mqtt:CertificateFingerprint the certificate must be exactly the pinned one. Nothing is ever
/// accepted just because validation failed. Revocation is not checked: a node in a disaster area
/// often reaches its local broker but no CRL or OCSP server; pinning narrows trust further.
/// </summary>
public sealed class BrokerTrust
{
    private readonly X509Certificate2Collection? _roots;
    private readonly byte[]? _pin;

    public BrokerTrust(MqttOptions options)
    {
        _roots = string.IsNullOrEmpty(options.CaFile) ? null : LoadCaFile(options.CaFile, out _);
        _pin = options.ParseFingerprint();
    }

    /// <summary>Why the last certificate was refused; null when it was accepted, or after <see cref="Forget"/>.</summary>
    public string? LastRejection { get; private set; }

    /// <summary>Before a new handshake: an earlier refusal must not be reported for a failure that has nothing to do with TLS.</summary>
    public void Forget() => LastRejection = null;

    /// <summary>Loads the certificates of a PEM file; null with a reason when it cannot be read or holds none.</summary>
    public static X509Certificate2Collection? LoadCaFile(string path, out string? error)
    {
        try
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(path);
            error = roots.Count == 0 ? $"'{path}' holds no PEM certificate" : null;
            return roots.Count == 0 ? null : roots;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            error = $"cannot read '{path}': {e.Message}";
            return null;
        }
    }

    public bool Validate(X509Certificate? presented, X509Chain? presentedChain, SslPolicyErrors errors)
    {
        LastRejection = Check(presented, presentedChain, errors);
        return LastRejection is null;
    }

    private string? Check(X509Certificate? presented, X509Chain? presentedChain, SslPolicyErrors errors)
    {
        if (presented is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            return "the broker presented no certificate";
        }

        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return "the broker's certificate is not issued for its host name";
        }

        using X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        if (_roots is null)
        {
            if ((errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0)
            {
                return $"the broker's certificate is not trusted ({ChainStatus(presentedChain)})";
            }
        }
        else
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (presentedChain is not null)
            {
                // Intermediates the broker sent along.
                foreach (X509ChainElement element in presentedChain.ChainElements)
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            if (!chain.Build(certificate))
            {
                return $"the broker's certificate does not chain to Mqtt:CaFile ({ChainStatus(chain)})";
            }
        }

        if (_pin is not null)
        {
            byte[] actual = SHA256.HashData(certificate.RawData);
            if (!CryptographicOperations.FixedTimeEquals(actual, _pin))
            {
                return $"the broker's certificate has SHA-256 fingerprint {Convert.ToHexString(actual)}, not the pinned Mqtt:CertificateFingerprint";
            }
        }

        return null;
    }

    private static string ChainStatus(X509Chain? chain) =>
        chain is null || chain.ChainStatus.Length == 0
            ? "no chain"
            : string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
}
