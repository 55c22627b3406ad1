namespace SensorKit.Tests.Support;

/// <summary>
/// What a test needs from the machine beyond the SDK. Missing, the test is skipped (not failed) with a message
/// naming the program and how to install it; <c>.ci/run</c>, which installs everything, fails on any skip.
/// </summary>
internal static class Requires
{
    /// <summary>
    /// Comma-separated programs to treat as missing even when installed, to see a skip without uninstalling
    /// anything: <c>SENSORKIT_TEST_HIDE_PROGRAMS=mosquitto dotnet test ...</c>.
    /// </summary>
    public const string HideVariable = "SENSORKIT_TEST_HIDE_PROGRAMS";

    // Debian puts daemons such as mosquitto in sbin, which is not on every user's PATH.
    private static readonly string[] SystemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    /// <summary>The full path of <paramref name="name"/> on PATH or in the system folders; skips the test when it is not there.</summary>
    /// <param name="install">The command that installs it, e.g. "apt-get install mosquitto".</param>
    /// <param name="untested">What goes unchecked without it; by default the whole test.</param>
    public static string Program(string name, string install, string? untested = null) => Program([name], install, untested);

    /// <summary>The first of <paramref name="names"/> (a program and its alternative names) that is installed.</summary>
    public static string Program(string[] names, string install, string? untested = null)
    {
        if (Locate(names, Environment.GetEnvironmentVariable(HideVariable)) is { } path)
        {
            return path;
        }

        Assert.Skip(NotInstalled(names[0], install, untested));
        return null!;
    }

    /// <summary>The skip message: the program, the install command, what goes untested.</summary>
    internal static string NotInstalled(string name, string install, string? untested) =>
        $"{name} is not installed ({install}; .ci/run installs it): {untested ?? "the test did not run"}";

    /// <summary>
    /// <see cref="Program(string, string, string?)"/> for a program that may also live in <paramref name="alsoIn"/>,
    /// folders off PATH (Debian's PostgreSQL binaries are in /usr/lib/postgresql/VERSION/bin).
    /// </summary>
    /// <param name="what">The product to name in the skip message, e.g. "PostgreSQL".</param>
    public static string Program(string name, IEnumerable<string> alsoIn, string what, string install, string? untested = null)
    {
        if (Locate([name], Environment.GetEnvironmentVariable(HideVariable), alsoIn) is { } path)
        {
            return path;
        }

        Assert.Skip(NotInstalled(what, install, untested));
        return null!;
    }

    /// <summary>The full path of the first of <paramref name="names"/> found and not listed in <paramref name="hidden"/> (comma-separated).</summary>
    internal static string? Locate(string[] names, string? hidden, IEnumerable<string>? alsoIn = null)
    {
        string[] hide = (hidden ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        IEnumerable<string> directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(SystemDirectories)
            .Concat(alsoIn ?? []);
        return names.Where(n => !hide.Contains(n, StringComparer.Ordinal))
            .SelectMany(n => directories.Select(d => Path.Combine(d, n)))
            .FirstOrDefault(System.IO.File.Exists);
    }

    /// <summary>A file the test needs, such as a foreign architecture's C library; skips the test when it is missing.</summary>
    public static string File(string path, string what, string install, string? untested = null)
    {
        if (System.IO.File.Exists(path))
        {
            return path;
        }

        Assert.Skip($"{what} is missing: {path} ({install}; .ci/run installs it): {untested ?? "the test did not run"}");
        return null!;
    }
}
