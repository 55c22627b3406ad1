using System.Collections.Concurrent;

namespace SensorKit.Hosting;

/// <summary>
/// Lets through at most <see cref="Burst"/> log lines per reason in each <see cref="Period"/>, and counts the
/// rest, so that a flood of bad input costs a few lines rather than the disk. The first line let through after
/// a quiet spell reports how many were held back since the last one. Reasons are a small fixed set (why a
/// message was dropped), never a sender's name, so memory stays bounded whoever sends.
/// </summary>
public sealed class LogLimiter(TimeProvider time, TimeSpan period, int burst = 5)
{
    /// <summary>The most distinct reasons tracked; anything beyond shares one bucket.</summary>
    public const int MaxReasons = 256;

    private const string Overflow = "(other)";

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    public TimeSpan Period { get; } = period;

    public int Burst { get; } = burst;

    /// <summary>
    /// True when a line for <paramref name="reason"/> may be written now; <paramref name="suppressed"/> is then the
    /// number of lines held back since the last one written for this reason.
    /// </summary>
    public bool TryEnter(string reason, out long suppressed)
    {
        if (!_buckets.TryGetValue(reason, out Bucket? bucket))
        {
            bucket = _buckets.Count < MaxReasons ? _buckets.GetOrAdd(reason, static _ => new Bucket()) : _buckets.GetOrAdd(Overflow, static _ => new Bucket());
        }

        long now = time.GetTimestamp();
        lock (bucket)
        {
            if (bucket.PeriodStart == 0 || time.GetElapsedTime(bucket.PeriodStart, now) >= Period)
            {
                bucket.PeriodStart = now;
                bucket.Written = 0;
            }

            if (bucket.Written < Burst)
            {
                bucket.Written++;
                suppressed = bucket.Suppressed;
                bucket.Suppressed = 0;
                return true;
            }

            bucket.Suppressed++;
            suppressed = 0;
            return false;
        }
    }

    /// <summary>Lines held back so far for <paramref name="reason"/> and not yet reported.</summary>
    public long Pending(string reason) => _buckets.TryGetValue(reason, out Bucket? b) ? Interlocked.Read(ref b.Suppressed) : 0;

    private sealed class Bucket
    {
        public long PeriodStart;
        public int Written;
        public long Suppressed;
    }
}
