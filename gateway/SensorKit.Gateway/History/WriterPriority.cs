using System.Runtime.InteropServices;

namespace SensorKit.Gateway.History;

/// <summary>
/// Lowers the calling thread's scheduling priority to nice 10 (Linux schedules threads on their own, and
/// setpriority(2) with a thread id changes only that thread). .NET's Thread.Priority does nothing on Linux.
/// </summary>
internal static class WriterPriority
{
    private const int PrioProcess = 0;
    private const int Nice = 10;

    /// <summary>False, with the reason, when it could not (not Linux, or the call failed); the writer then runs as is.</summary>
    public static bool Lower(out string? reason)
    {
        if (!OperatingSystem.IsLinux())
        {
            reason = "not Linux";
            return false;
        }

        if (SetPriority(PrioProcess, GetTid(), Nice) != 0)
        {
            reason = $"setpriority failed, errno {Marshal.GetLastPInvokeError()}";
            return false;
        }

        reason = null;
        return true;
    }

    [DllImport("libc", EntryPoint = "gettid", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int GetTid();

    [DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SetPriority(int which, int who, int priority);
}
