using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace SensorKit.Benchmarks.Soak;

/// <summary>
/// The runtime's own counters of another process (System.Runtime EventCounters, as dotnet-counters reads them) and
/// the type of every exception it throws, over one EventPipe session with a small buffer.
/// </summary>
internal sealed class RuntimeCounters : IDisposable
{
    private readonly EventPipeSession _session;
    private readonly EventPipeEventSource _source;
    private readonly Thread _reader;
    private readonly Dictionary<string, double> _last = [];
    private readonly Dictionary<string, double> _sums = [];
    private readonly Dictionary<string, int> _exceptions = [];

    private readonly Dictionary<string, int> _jitted = [];
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly TimeSpan _jitNamesAfter;

    private RuntimeCounters(EventPipeSession session, TimeSpan jitNamesAfter)
    {
        _jitNamesAfter = jitNamesAfter;
        _session = session;
        _source = new EventPipeEventSource(session.EventStream);
        _source.Dynamic.All += OnEvent;
        _source.Clr.ExceptionStart += e =>
        {
            lock (_exceptions)
            {
                _exceptions[e.ExceptionType] = _exceptions.GetValueOrDefault(e.ExceptionType) + 1;
            }
        };
        _source.Clr.MethodLoadVerbose += e =>
        {
            if (_clock.Elapsed < _jitNamesAfter)
            {
                return;
            }

            string key = $"{e.OptimizationTier} {e.MethodNamespace}::{e.MethodName}";
            lock (_jitted)
            {
                _jitted[key] = _jitted.GetValueOrDefault(key) + 1;
            }
        };
        _reader = new Thread(() => _source.Process()) { IsBackground = true, Name = "soak-eventpipe" };
        _reader.Start();
    }

    /// <param name="jitNamesAfter">From then on every method compiled is named (JIT events, verbose); null: counts only.</param>
    public static async Task<RuntimeCounters?> TryStartAsync(int pid, TimeSpan? jitNamesAfter = null)
    {
        // The node's diagnostics socket appears shortly after its start.
        for (int i = 0; i < 200; i++)
        {
            try
            {
                var client = new DiagnosticsClient(pid);
                EventPipeSession session = client.StartEventPipeSession(
                    [
                        new EventPipeProvider("System.Runtime", EventLevel.Informational, 0, new Dictionary<string, string> { ["EventCounterIntervalSec"] = "10" }),
                        // Exception keyword only: one event per throw, nothing in normal operation if nothing is thrown.
                        new EventPipeProvider(
                            "Microsoft-Windows-DotNETRuntime",
                            jitNamesAfter is null ? EventLevel.Informational : EventLevel.Verbose,
                            jitNamesAfter is null ? 0x8000 : 0x8000 | 0x10),
                    ],
                    requestRundown: false,
                    circularBufferMB: 2);
                return new RuntimeCounters(session, jitNamesAfter ?? TimeSpan.MaxValue);
            }
            catch (ServerNotAvailableException)
            {
                await Task.Delay(50);
            }
        }

        Console.Error.WriteLine("soak: the node's diagnostics port did not answer; runtime counters are missing");
        return null;
    }

    /// <summary>The methods compiled after the time asked for, most often compiled first.</summary>
    public List<KeyValuePair<string, int>> Jitted()
    {
        lock (_jitted)
        {
            return [.. _jitted.OrderByDescending(p => p.Value)];
        }
    }

    /// <summary>A polling counter's last value (methods-jitted-count, working-set, gc-heap-size, ...).</summary>
    public double Last(string name)
    {
        lock (_last)
        {
            return _last.GetValueOrDefault(name, double.NaN);
        }
    }

    /// <summary>An incrementing counter's total since the session started (gen-0-gc-count, exception-count, ...).</summary>
    public double Sum(string name)
    {
        lock (_last)
        {
            return _sums.GetValueOrDefault(name);
        }
    }

    public List<KeyValuePair<string, int>> Exceptions()
    {
        lock (_exceptions)
        {
            return [.. _exceptions.OrderByDescending(p => p.Value)];
        }
    }

    private void OnEvent(TraceEvent e)
    {
        if (e.EventName != "EventCounters" || e.PayloadValue(0) is not IDictionary<string, object> outer || outer["Payload"] is not IDictionary<string, object> fields)
        {
            return;
        }

        string name = (string)fields["Name"];
        lock (_last)
        {
            if (fields.TryGetValue("Increment", out object? increment))
            {
                _sums[name] = _sums.GetValueOrDefault(name) + Convert.ToDouble(increment, System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (fields.TryGetValue("Mean", out object? mean))
            {
                _last[name] = Convert.ToDouble(mean, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            _session.Stop();
        }
        catch (Exception e) when (e is ServerNotAvailableException or EndOfStreamException or IOException or TimeoutException)
        {
            // The node is already gone; nothing left to stop.
            Console.Error.WriteLine($"soak: stopping the EventPipe session: {e.Message}");
        }

        _reader.Join(TimeSpan.FromSeconds(5));
        _source.Dispose();
        _session.Dispose();
    }
}
