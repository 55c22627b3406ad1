namespace SensorKit.Tests.Gateway.AlertQuality;

internal enum Op
{
    AtMost,
    Exactly,
    AtLeast,
}

/// <summary>What one metric of one case must be.</summary>
internal sealed record Expectation(string Metric, Op Op, int Value)
{
    public Expectation(Metric metric, Op op, int value)
        : this(metric.ToString(), op, value)
    {
    }

    public bool Holds(int actual) => Op switch
    {
        Op.AtMost => actual <= Value,
        Op.AtLeast => actual >= Value,
        _ => actual == Value,
    };

    public override string ToString() => $"{Op switch { Op.AtMost => "<=", Op.AtLeast => ">=", _ => "=" }} {Value}";

    /// <summary>
    /// Judges <paramref name="actual"/>: an expectation that fails is a failure unless it is a known gap; a known gap
    /// that holds is a failure too, telling the fixer to take it off the list. Returns the table mark:
    /// "*" known gap, "!" fails, "?" known gap that now holds, "" holds.
    /// </summary>
    public string Judge(string where, int actual, bool knownGap, string gapList, List<string> failures)
    {
        bool holds = Holds(actual);
        if (knownGap && holds)
        {
            failures.Add($"{where}: {Metric} = {actual} now meets {this}: the fix is in; delete ({where}, {Metric}) from {gapList} so it stays asserted");
            return "?";
        }

        if (knownGap)
        {
            return "*";
        }

        if (!holds)
        {
            failures.Add($"{where}: {Metric} = {actual}, expected {this}");
            return "!";
        }

        return string.Empty;
    }
}
