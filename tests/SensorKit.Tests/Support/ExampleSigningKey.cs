using System.Security.Cryptography.X509Certificates;
using SensorKit.Gateway.Alerts.Cap;

namespace SensorKit.Tests.Support;

/// <summary>
/// The example CAP signing key: it signs docs/examples and the messages of the gateways tests start. EXAMPLE ONLY,
/// NEVER DEPLOY: its private key is in the repository. Its certificate is docs/examples/cap-signing-cert.pem.
/// </summary>
internal static class ExampleSigningKey
{
    public static string CertificateFile { get; } = Path.Combine(RepoPaths.Root, "docs", "examples", "cap-signing-cert.pem");

    public static string KeyFile { get; } = Path.Combine(RepoPaths.Root, "tests", "SensorKit.Tests", "Alerts", "Cap", "Fixtures", "example-key-never-deploy.pem");

    /// <summary>The certificate alone, as a consumer has it.</summary>
    public static X509Certificate2 Certificate() => X509Certificate2.CreateFromPem(File.ReadAllText(CertificateFile));

    public static CapSigner Signer() =>
        new(CapSigningKey.Load(new CapSigningOptions { CertificateFile = CertificateFile, KeyFile = KeyFile }, RepoPaths.Root, DateTimeOffset.UtcNow));
}
