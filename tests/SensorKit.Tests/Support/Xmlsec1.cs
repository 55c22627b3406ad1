using System.Diagnostics;

namespace SensorKit.Tests.Support;

/// <summary>
/// Debian's xmlsec1 (libxmlsec1 on OpenSSL), an XML-DSig implementation independent of .NET's, run with the
/// command line docs/rules.md gives consumers. Tests that need it skip when it is not installed.
/// </summary>
internal static class Xmlsec1
{
    private static readonly string? s_executable = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, "xmlsec1"))
        .FirstOrDefault(File.Exists);

    /// <summary>
    /// <c>xmlsec1 --verify</c> trusting only <paramref name="trustedCertificateFile"/>: the key must come from an X.509
    /// certificate that chains to it (a bare key in KeyValue is not accepted), and the reference must be the whole
    /// document. Exit code 0 means verified.
    /// </summary>
    public static async Task<(int Exit, string Output)> VerifyAsync(byte[] document, string trustedCertificateFile)
    {
        if (s_executable is null)
        {
            Assert.Skip("xmlsec1 is not installed (apt-get install xmlsec1; .ci/run installs it): the signature was checked by .NET only, not independently");
        }

        string file = Path.Combine(TestDirectories.Create("xmlsec1"), "message.xml");
        await File.WriteAllBytesAsync(file, document, TestContext.Current.CancellationToken);
        var psi = new ProcessStartInfo(s_executable)
        {
            ArgumentList = { "--verify", "--enabled-key-data", "x509", "--enabled-reference-uris", "empty", "--trusted-pem", trustedCertificateFile, file },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }
}
