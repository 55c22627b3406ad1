using System.Globalization;
using NetTopologySuite.Geometries;

namespace SensorKit.Gateway.Outputs.OpenData.Filter;

/// <summary>
/// Evaluates an expression against one entity in memory. Values are double, string, bool, DateTimeOffset,
/// <see cref="TimeInterval"/>, <see cref="Geometry"/> or null; an operation on null gives null, which a filter takes as false.
/// A time interval compared with an instant follows SensorThings: gt/ge compare its start, lt/le its end.
/// </summary>
public static class FilterEvaluator
{
    public static bool Matches(FilterNode filter, Func<IReadOnlyList<string>, object?> resolve, DateTimeOffset now) =>
        Evaluate(filter, resolve, now) is true;

    public static object? Evaluate(FilterNode node, Func<IReadOnlyList<string>, object?> resolve, DateTimeOffset now) => node switch
    {
        FilterLiteral l => l.Value,
        FilterPath p => resolve(p.Segments),
        FilterNot n => Evaluate(n.Operand, resolve, now) is bool b ? !b : null,
        FilterNegate n => Evaluate(n.Operand, resolve, now) is double d ? -d : null,
        FilterBinary { Op: FilterOperator.And } b => Evaluate(b.Left, resolve, now) is true && Evaluate(b.Right, resolve, now) is true,
        FilterBinary { Op: FilterOperator.Or } b => Evaluate(b.Left, resolve, now) is true || Evaluate(b.Right, resolve, now) is true,
        FilterBinary b => Binary(b.Op, Evaluate(b.Left, resolve, now), Evaluate(b.Right, resolve, now)),
        FilterCall c => Call(c.Name, [.. c.Arguments.Select(a => Evaluate(a, resolve, now))], now),
        _ => throw new FilterException($"cannot evaluate {node.GetType().Name}"),
    };

    /// <summary>Orders values of one kind; nulls first, values of different kinds by kind.</summary>
    public static int Compare(object? a, object? b) => (a, b) switch
    {
        (null, null) => 0,
        (null, _) => -1,
        (_, null) => 1,
        (double x, double y) => x.CompareTo(y),
        (string x, string y) => string.CompareOrdinal(x, y),
        (bool x, bool y) => x.CompareTo(y),
        (DateTimeOffset x, DateTimeOffset y) => x.CompareTo(y),
        (TimeInterval x, TimeInterval y) => x.Start != y.Start ? x.Start.CompareTo(y.Start) : x.End.CompareTo(y.End),
        (TimeInterval x, DateTimeOffset y) => x.Start.CompareTo(y),
        (DateTimeOffset x, TimeInterval y) => x.CompareTo(y.Start),
        _ => string.CompareOrdinal(a.GetType().Name, b.GetType().Name),
    };

    private static object? Binary(FilterOperator op, object? l, object? r)
    {
        switch (op)
        {
            case FilterOperator.Eq:
                return Equal(l, r);
            case FilterOperator.Ne:
                return !Equal(l, r);
            case FilterOperator.Gt or FilterOperator.Ge or FilterOperator.Lt or FilterOperator.Le:
                return Relational(op, l, r);
        }

        if (l is double x && r is double y)
        {
            double v = op switch
            {
                FilterOperator.Add => x + y,
                FilterOperator.Sub => x - y,
                FilterOperator.Mul => x * y,
                FilterOperator.Div => x / y,
                _ => x % y,
            };
            return double.IsFinite(v) ? v : null;
        }

        return null;
    }

    private static bool Equal(object? l, object? r) => (l, r) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        (TimeInterval i, DateTimeOffset t) => i.Start == t && i.End == t,
        (DateTimeOffset t, TimeInterval i) => i.Start == t && i.End == t,
        (Geometry g, Geometry h) => g.EqualsTopologically(h),
        _ when l.GetType() == r.GetType() => Compare(l, r) == 0,
        _ => false,
    };

    private static bool? Relational(FilterOperator op, object? l, object? r)
    {
        if (l is null || r is null)
        {
            return null;
        }

        // An interval lies after an instant when it starts after it, before it when it ends before it.
        if (l is TimeInterval li && r is DateTimeOffset rt)
        {
            return op switch
            {
                FilterOperator.Gt => li.Start > rt,
                FilterOperator.Ge => li.Start >= rt,
                FilterOperator.Lt => li.End < rt,
                _ => li.End <= rt,
            };
        }

        if (l is DateTimeOffset lt && r is TimeInterval ri)
        {
            return op switch
            {
                FilterOperator.Gt => lt > ri.End,
                FilterOperator.Ge => lt >= ri.End,
                FilterOperator.Lt => lt < ri.Start,
                _ => lt <= ri.Start,
            };
        }

        if (l.GetType() != r.GetType() || l is Geometry)
        {
            return null;
        }

        int c = Compare(l, r);
        return op switch
        {
            FilterOperator.Gt => c > 0,
            FilterOperator.Ge => c >= 0,
            FilterOperator.Lt => c < 0,
            _ => c <= 0,
        };
    }

    private static object? Call(string name, object?[] a, DateTimeOffset now)
    {
        switch (name)
        {
            case "now":
                return now;
            case "mindatetime":
                return DateTimeOffset.MinValue;
            case "maxdatetime":
                return DateTimeOffset.MaxValue;
        }

        if (a.Any(v => v is null))
        {
            return null;
        }

        switch (name)
        {
            case "substringof" when a[0] is string s && a[1] is string t:
                return t.Contains(s, StringComparison.Ordinal);
            case "contains" when a[0] is string s && a[1] is string t:
                return s.Contains(t, StringComparison.Ordinal);
            case "endswith" when a[0] is string s && a[1] is string t:
                return s.EndsWith(t, StringComparison.Ordinal);
            case "startswith" when a[0] is string s && a[1] is string t:
                return s.StartsWith(t, StringComparison.Ordinal);
            case "length" when a[0] is string s:
                return (double)s.Length;
            case "indexof" when a[0] is string s && a[1] is string t:
                return (double)s.IndexOf(t, StringComparison.Ordinal);
            case "substring" when a[0] is string s && a[1] is double from:
                int start = (int)Math.Clamp(from, 0, s.Length);
                int length = a.Length > 2 && a[2] is double n ? (int)Math.Clamp(n, 0, s.Length - start) : s.Length - start;
                return s.Substring(start, length);
            case "tolower" when a[0] is string s:
                return s.ToLowerInvariant();
            case "toupper" when a[0] is string s:
                return s.ToUpperInvariant();
            case "trim" when a[0] is string s:
                return s.Trim();
            case "concat" when a[0] is string s && a[1] is string t:
                return string.Concat(s, t);
            case "round" when a[0] is double d:
                return Math.Round(d, MidpointRounding.AwayFromZero);
            case "floor" when a[0] is double d:
                return Math.Floor(d);
            case "ceiling" when a[0] is double d:
                return Math.Ceiling(d);
        }

        if (name is "year" or "month" or "day" or "hour" or "minute" or "second" or "fractionalseconds" or "date" or "time" or "totaloffsetminutes")
        {
            DateTimeOffset? t = a[0] switch { DateTimeOffset x => x, TimeInterval i => i.Start, _ => null };
            if (t is not { } v)
            {
                return null;
            }

            return name switch
            {
                "year" => (double)v.Year,
                "month" => (double)v.Month,
                "day" => (double)v.Day,
                "hour" => (double)v.Hour,
                "minute" => (double)v.Minute,
                "second" => (double)v.Second,
                "fractionalseconds" => v.Millisecond / 1000.0,
                "date" => new DateTimeOffset(v.Date, v.Offset),
                "time" => v.TimeOfDay.ToString("c", CultureInfo.InvariantCulture),
                _ => v.Offset.TotalMinutes,
            };
        }

        if (a.Length >= 1 && a[0] is Geometry g)
        {
            if (name == "geo.length")
            {
                return g.Length;
            }

            if (a[1] is Geometry h)
            {
                return name switch
                {
                    "geo.distance" => g.Distance(h),
                    "geo.intersects" or "st_intersects" => g.Intersects(h),
                    "st_equals" => g.EqualsTopologically(h),
                    "st_disjoint" => g.Disjoint(h),
                    "st_touches" => g.Touches(h),
                    "st_within" => g.Within(h),
                    "st_overlaps" => g.Overlaps(h),
                    "st_crosses" => g.Crosses(h),
                    "st_contains" => g.Contains(h),
                    "st_relate" when a[2] is string pattern && pattern.Length == 9 && pattern.All(ch => "TF*012".Contains(ch, StringComparison.Ordinal)) => g.Relate(h, pattern),
                    _ => null,
                };
            }
        }

        return null;
    }
}
