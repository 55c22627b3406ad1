namespace SensorKit.Tests.Support;

internal static class RepoPaths
{
    /// <summary>The repository root: the folder above the test binaries that holds SensorKit.sln.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "SensorKit.sln")))
            {
                return d.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no SensorKit.sln above {AppContext.BaseDirectory}");
    }
}
