using System.Globalization;

namespace SensorKit.Tests.Support;

/// <summary>Fresh folders under one per-run temp folder, removed when the test process ends.</summary>
internal static class TestDirectories
{
    private static readonly string Root = CreateRoot();

    public static string Create(string name)
    {
        string dir = Path.Combine(Root, $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string CreateRoot()
    {
        string root = Path.Combine(Path.GetTempPath(), "sensorkit-tests", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException e)
            {
                // A child process may still hold a file; the folder is in the temp directory either way.
                Console.Error.WriteLine($"could not remove {root}: {e.Message}");
            }
        };
        return root;
    }
}
