using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SensorKit.Gateway.Broker.Accounts;

/// <summary>
/// Salted password hashes in the format of Mosquitto 2's <c>mosquitto_passwd</c>:
/// <c>$7$iterations$base64(salt)$base64(PBKDF2-HMAC-SHA512(password, salt, iterations, 64 bytes))</c>.
/// The same string goes into the gateway's accounts file and Mosquitto's password_file, so one
/// provisioning step serves both brokers.
/// </summary>
public static class PasswordHash
{
    public const string Prefix = "$7$";

    /// <summary>
    /// Generated passwords carry 144 random bits, so the iteration count adds nothing against guessing; it is kept
    /// well above Mosquitto's default of 101 yet cheap enough that a CONNECT costs a Pi Zero a few milliseconds.
    /// </summary>
    public const int DefaultIterations = 10_000;

    private const int SaltBytes = 12;
    private const int HashBytes = 64;

    // Verified for unknown users too, so a refusal takes as long whether or not the name exists.
    private static readonly string Dummy = Create("not-a-password", DefaultIterations);

    public static string Create(string password, int iterations = DefaultIterations)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(SaltBytes);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
        return $"{Prefix}{iterations.ToString(CultureInfo.InvariantCulture)}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>A random password for a new account: 18 bytes as URL-safe base64, 24 characters without ':' or whitespace.</summary>
    public static string NewPassword() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');

    /// <summary>Why <paramref name="encoded"/> is not a usable <c>$7$</c> hash; null when it is.</summary>
    public static string? Check(string encoded) => TryParse(encoded, out _, out _, out _) ? null :
        "is not a mosquitto_passwd PBKDF2-SHA512 hash ($7$iterations$salt$hash)";

    public static bool Verify(string encoded, ReadOnlySpan<byte> password)
    {
        if (!TryParse(encoded, out int iterations, out byte[] salt, out byte[] expected))
        {
            return false;
        }

        byte[] actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA512, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    public static bool Verify(string encoded, string password) => Verify(encoded, Encoding.UTF8.GetBytes(password));

    /// <summary>Spends the time of one verification, for a user that does not exist.</summary>
    public static void VerifyNothing(ReadOnlySpan<byte> password) => Verify(Dummy, password);

    private static bool TryParse(string encoded, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        if (!encoded.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        string[] parts = encoded[Prefix.Length..].Split('$');
        if (parts.Length != 3
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out iterations)
            || iterations is < 1 or > 10_000_000)
        {
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(parts[1]);
            hash = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            return false;
        }

        return salt.Length > 0 && hash.Length == HashBytes;
    }
}
