using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SensorKit.Gateway.State;
using SensorKit.Gateway.Storage;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>
/// The RSA key pair CAP messages are signed with: loaded from configured PEM files, or generated once into the
/// state folder when none is configured. Every failure is a <see cref="GatewayConfigurationException"/> whose
/// message starts with the configuration key, so the host exits with one line that names it.
/// </summary>
internal static class CapSigningKey
{
    public const string Section = CapOptions.Section + ":Signing";

    /// <summary>Names of the generated pair in the state folder.</summary>
    public const string GeneratedCertificateFile = "cap-signing-cert.pem";

    public const string GeneratedKeyFile = "cap-signing-key.pem";

    private const int MinimumKeySize = 2048;

    // 3072 bits: NIST SP 800-57's size for use beyond 2030, which a ten-year certificate reaches.
    private const int GeneratedKeySize = 3072;

    private static readonly TimeSpan GeneratedLifetime = TimeSpan.FromDays(3650);

    // Consumers whose clocks run a little behind must not see a fresh certificate as not yet valid.
    private static readonly TimeSpan GeneratedBackdate = TimeSpan.FromDays(1);

    /// <summary>Loads the configured pair; paths are relative to <paramref name="contentRoot"/>.</summary>
    public static X509Certificate2 Load(CapSigningOptions options, string contentRoot, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(options.CertificateFile);
        ArgumentException.ThrowIfNullOrEmpty(options.KeyFile);
        return Load(
            Path.GetFullPath(options.CertificateFile, contentRoot),
            $"{Section}:CertificateFile",
            Path.GetFullPath(options.KeyFile, contentRoot),
            $"{Section}:KeyFile",
            now);
    }

    /// <summary>
    /// The pair generated earlier in <paramref name="directory"/>, or a new self-signed one for
    /// <paramref name="subject"/> if there is none. A certificate without its key is an error rather than a reason
    /// to generate: consumers have pinned that certificate, and a new one would silently break their checks.
    /// </summary>
    public static X509Certificate2 LoadOrCreate(string directory, string subject, DateTimeOffset now, out bool created)
    {
        string certificatePath = Path.Combine(directory, GeneratedCertificateFile);
        string keyPath = Path.Combine(directory, GeneratedKeyFile);
        created = false;
        if (File.Exists(certificatePath))
        {
            if (!File.Exists(keyPath))
            {
                throw new GatewayConfigurationException(
                    $"{Section}: {keyPath} is missing beside the gateway's generated certificate {certificatePath}; restore it, or delete the certificate to generate a new pair (consumers must then pin the new fingerprint)");
            }

            try
            {
                return Load(certificatePath, Section, keyPath, Section, now);
            }
            catch (GatewayConfigurationException e)
            {
                throw new GatewayConfigurationException(
                    $"{e.Message}; delete {certificatePath} and {keyPath} to generate a new pair (consumers must then pin the new fingerprint), or set {Section}:CertificateFile and {Section}:KeyFile",
                    e);
            }
        }

        // The certificate is written last, so a key alone is the remains of a generation that never finished.
        created = true;
        return Create(directory, certificatePath, keyPath, subject, now);
    }

    /// <summary>SHA-256 of the certificate as openssl prints it ("AB:CD:…"), the value consumers pin.</summary>
    public static string Fingerprint(X509Certificate2 certificate) =>
        string.Join(':', Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256)).Chunk(2).Select(pair => new string(pair)));

    private static X509Certificate2 Load(string certificatePath, string certificateKey, string keyPath, string keyKey, DateTimeOffset now)
    {
        string certificatePem = Read(certificatePath, certificateKey);
        string keyPem = Read(keyPath, keyKey);
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem);
        }
        catch (CryptographicException)
        {
            throw new GatewayConfigurationException($"{certificateKey}: {certificatePath} holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        using (certificate)
        {
            using RSA publicKey = certificate.GetRSAPublicKey()
                ?? throw new GatewayConfigurationException($"{certificateKey}: the certificate in {certificatePath} has no RSA key; CAP messages are signed with RSA-SHA256");
            DateTime utc = now.UtcDateTime;
            if (utc < certificate.NotBefore.ToUniversalTime() || utc > certificate.NotAfter.ToUniversalTime())
            {
                throw new GatewayConfigurationException(
                    $"{certificateKey}: the certificate in {certificatePath} is valid from {Day(certificate.NotBefore)} to {Day(certificate.NotAfter)}, not now; consumers reject messages signed with it");
            }

            using RSA key = RSA.Create();
            try
            {
                key.ImportFromPem(keyPem);
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException)
            {
                // ArgumentException: no key label, or an encrypted key; CryptographicException: not RSA, or damaged.
                throw new GatewayConfigurationException($"{keyKey}: {keyPath} holds no unencrypted PEM RSA private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----): {e.Message}", e);
            }

            if (!publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
            {
                throw new GatewayConfigurationException($"{keyKey}: the key in {keyPath} does not belong to the certificate in {certificatePath}");
            }

            if (key.KeySize < MinimumKeySize)
            {
                throw new GatewayConfigurationException($"{keyKey}: the key in {keyPath} has {key.KeySize} bits; use at least {MinimumKeySize}");
            }

            return certificate.CopyWithPrivateKey(key);
        }
    }

    private static string Read(string path, string key)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GatewayConfigurationException($"{key}: cannot read {path}: {e.Message}", e);
        }
    }

    private static X509Certificate2 Create(string directory, string certificatePath, string keyPath, string subject, DateTimeOffset now)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GatewayConfigurationException($"{StateOptions.Section}:Directory: cannot create {directory} for the CAP signing key: {e.Message}", e);
        }

        using RSA key = RSA.Create(GeneratedKeySize);
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(subject);
        name.AddOrganizationName("SensorKit gateway, self-signed CAP signing key");
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        DateTimeOffset notBefore = TruncateToSeconds(now - GeneratedBackdate);
        X509Certificate2 certificate = request.CreateSelfSigned(notBefore, notBefore + GeneratedLifetime);

        // Key first, certificate last: the certificate's presence marks a finished pair (see LoadOrCreate).
        try
        {
            WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            WriteAtomically(certificatePath, certificate.ExportCertificatePem(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        catch (GatewayConfigurationException)
        {
            certificate.Dispose();
            throw;
        }

        // CreateSelfSigned attached its own copy of the key: the certificate outlives the RSA object above.
        return certificate;
    }

    // Written to a temporary file, flushed to disk and renamed: a power cut leaves the old state or the new, never half a key.
    private static void WriteAtomically(string path, string pem, UnixFileMode mode)
    {
        string temporary = path + ".tmp";
        try
        {
            File.Delete(temporary);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                // Set at creation, so the private key is never readable by others, not even for a moment.
                options.UnixCreateMode = mode;
            }

            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(Encoding.ASCII.GetBytes(pem + "\n"));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GatewayConfigurationException($"{Section}: cannot write the generated {path}: {e.Message}", e);
        }
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerSecond), t.Offset);

    private static string Day(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
