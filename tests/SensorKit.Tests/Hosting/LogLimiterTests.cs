using Microsoft.Extensions.Time.Testing;
using SensorKit.Hosting;

namespace SensorKit.Tests.Hosting;

public sealed class LogLimiterTests
{
    [Fact]
    public void A_burst_per_reason_then_silence_then_one_line_that_reports_what_was_held_back()
    {
        var time = new FakeTimeProvider();
        var limiter = new LogLimiter(time, TimeSpan.FromMinutes(1), burst: 3);

        Assert.Equal([true, true, true, false, false], Enumerable.Range(0, 5).Select(_ => limiter.TryEnter("malformed", out long _)));
        Assert.True(limiter.TryEnter("unknown-node", out long other), "reasons have their own budget");
        Assert.Equal(0, other);
        Assert.Equal(2, limiter.Pending("malformed"));

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(limiter.TryEnter("malformed", out long suppressed));
        Assert.Equal(2, suppressed);
        Assert.Equal(0, limiter.Pending("malformed"));
    }

    [Fact]
    public void Made_up_reasons_share_one_bucket_beyond_the_bound()
    {
        var limiter = new LogLimiter(new FakeTimeProvider(), TimeSpan.FromMinutes(1), burst: 1);
        int written = Enumerable.Range(0, 10_000).Count(i => limiter.TryEnter($"reason-{i}", out long _));

        Assert.Equal(LogLimiter.MaxReasons + 1, written);
    }
}
