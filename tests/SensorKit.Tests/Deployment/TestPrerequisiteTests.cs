using System.Diagnostics;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Deployment;

/// <summary>
/// A test that needs a program the machine lacks is skipped, saying what to install; .ci/count-results, which
/// ends every CI run, counts such a skip as a failure, since CI installs everything.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class TestPrerequisiteTests : IDisposable
{
    private static readonly string Script = Path.Combine(RepoPaths.Root, ".ci", "count-results");

    private readonly string _dir = Directory.CreateTempSubdirectory("sensorkit-trx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_missing_program_is_not_found_and_its_skip_names_it_and_the_install_command()
    {
        Assert.Null(Requires.Locate(["sensorkit-no-such-program"], hidden: null));
        Assert.Equal(
            "sensorkit-no-such-program is not installed (apt-get install sensorkit-nothing; .ci/run installs it): the rendering was not checked",
            Requires.NotInstalled("sensorkit-no-such-program", "apt-get install sensorkit-nothing", "the rendering was not checked"));
    }

    [Fact]
    public void An_installed_program_is_found_by_its_full_path_unless_hidden()
    {
        string? sh = Requires.Locate(["sh"], hidden: null);

        Assert.True(sh is not null && Path.IsPathRooted(sh) && File.Exists(sh), sh);
        Assert.Equal(sh, Requires.Locate(["sh"], hidden: "mosquitto"));
        Assert.Null(Requires.Locate(["sh"], hidden: "mosquitto, sh"));
    }

    [Fact]
    public async Task A_skipped_test_is_listed_with_its_reason_and_counted_as_failed()
    {
        string trx = Write("skip.trx", Trx(
            Result("SensorKit.Tests.A.Passes", "Passed"),
            Result("SensorKit.Tests.B.Needs_mosquitto", "NotExecuted", "mosquitto is not installed (apt-get install mosquitto; .ci/run installs it): the test&apos;s broker did not start"),
            counters: (Passed: 1, Failed: 0, NotExecuted: 1)));

        (int exit, string output) = await CountAsync(trx);

        Assert.Equal(1, exit);
        Assert.Contains("SKIPPED SensorKit.Tests.B.Needs_mosquitto: mosquitto is not installed (apt-get install mosquitto; .ci/run installs it): the test's broker did not start", output, StringComparison.Ordinal);
        Assert.Equal("1 passed, 1 failed", output.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public async Task Reports_without_skips_are_summed()
    {
        string first = Write("first.trx", Trx(Result("SensorKit.Tests.A.Passes", "Passed"), counters: (Passed: 1, Failed: 0, NotExecuted: 0)));
        string second = Write("second.trx", Trx(Result("SensorKit.Tests.C.Passes", "Passed"), Result("SensorKit.Tests.C.Fails", "Failed"), counters: (Passed: 1, Failed: 1, NotExecuted: 0)));

        (int exit, string output) = await CountAsync(first);
        Assert.Equal((0, "1 passed, 0 failed"), (exit, output.Trim()));

        (exit, output) = await CountAsync("--test-status", "2", first, second);
        Assert.Equal((2, "2 passed, 1 failed"), (exit, output.Trim()));
    }

    [Fact]
    public async Task A_run_that_failed_before_any_test_reported_counts_one_failure()
    {
        (int exit, string output) = await CountAsync("--test-status", "1");

        Assert.Equal((1, "0 passed, 1 failed"), (exit, output.Trim()));
    }

    /// <summary>The shape xunit v3 writes (--report-xunit-trx): one line, a skip's reason in StdOut.</summary>
    private static string Trx(string first, string? second = null, (int Passed, int Failed, int NotExecuted) counters = default) =>
        "<TestRun xmlns=\"http://microsoft.com/schemas/VisualStudio/TeamTest/2010\"><Results>" + first + second + "</Results>" +
        "<TestDefinitions><UnitTest name=\"SensorKit.Tests.A.Passes\" id=\"1\"><Execution id=\"1\" /></UnitTest></TestDefinitions>" +
        $"<ResultSummary outcome=\"Completed\"><Counters total=\"{counters.Passed + counters.Failed + counters.NotExecuted}\" executed=\"{counters.Passed + counters.Failed}\" " +
        $"passed=\"{counters.Passed}\" failed=\"{counters.Failed}\" error=\"0\" timeout=\"0\" aborted=\"0\" inconclusive=\"0\" passedButRunAborted=\"0\" notRunnable=\"0\" " +
        $"notExecuted=\"{counters.NotExecuted}\" disconnected=\"0\" warning=\"0\" completed=\"0\" inProgress=\"0\" pending=\"0\" /></ResultSummary></TestRun>";

    private static string Result(string name, string outcome, string? stdout = null) =>
        $"<UnitTestResult testName=\"{name}\" outcome=\"{outcome}\" testId=\"{Guid.NewGuid()}\" duration=\"00:00:00.0000000\"" +
        (stdout is null ? " />" : $"><Output><StdOut>{stdout}</StdOut></Output></UnitTestResult>");

    private string Write(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static async Task<(int Exit, string Output)> CountAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("bash", [Script, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout + await stderr);
    }
}
