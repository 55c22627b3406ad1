using System.Runtime.InteropServices;

namespace SensorKit.Hosting;

/// <summary>
/// fsync on a directory, so a newly created file's name survives a power cut (POSIX leaves that to
/// the directory, not the file; fsync(2), "NOTES"). .NET cannot open a directory as a file, hence libc.
/// Elsewhere than Linux it does nothing. Used by the node's outbox and the gateway's history journal.
/// </summary>
public static partial class DirectorySync
{
    // O_RDONLY only. Linux opens a directory read-only without O_DIRECTORY, and that flag's value
    // differs by architecture (0x10000 on x64 is O_DIRECT on arm64, which fails with EINVAL).
    private const int ReadOnly = 0;

    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int fd = Open(directory, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Close(int fd);
}
