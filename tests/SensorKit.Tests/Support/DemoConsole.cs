using System.Text;

namespace SensorKit.Tests.Support;

/// <summary>The demo's console: keeps every line, and lets the test act on a line the demo awaits before it goes on.</summary>
internal sealed class DemoConsole(Func<string, Task> onLine) : TextWriter
{
    private readonly StringBuilder _partial = new();
    private readonly List<string> _lines = [];

    public override Encoding Encoding => Encoding.UTF8;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public override void Write(char value)
    {
        lock (_lines)
        {
            if (value == '\n')
            {
                _lines.Add(_partial.ToString().TrimEnd('\r'));
                _partial.Clear();
            }
            else
            {
                _partial.Append(value);
            }
        }
    }

    public override async Task WriteLineAsync(string? value)
    {
        await onLine(value ?? string.Empty);
        WriteLine(value);
    }
}
