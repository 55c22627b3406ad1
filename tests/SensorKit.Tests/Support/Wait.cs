using System.Diagnostics;

namespace SensorKit.Tests.Support;

internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <paramref name="timeout"/> naming what was awaited.</summary>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? state = null) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what, state);

    /// <summary>Polls an asynchronous <paramref name="condition"/> (e.g. an HTTP request) until it holds.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? state = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"no {what} within {timeout.TotalSeconds} s{(state is null ? string.Empty : $"; {state()}")}");
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
