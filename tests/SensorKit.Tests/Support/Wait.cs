using System.Diagnostics;

namespace SensorKit.Tests.Support;

internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="timeout"/> naming what was awaited.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? state = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"no {what} within {timeout.TotalSeconds} s{(state is null ? string.Empty : $"; {state()}")}");
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
