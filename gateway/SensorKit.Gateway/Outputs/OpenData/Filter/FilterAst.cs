using NetTopologySuite.Geometries;

namespace SensorKit.Gateway.Outputs.OpenData.Filter;

/// <summary>A parsed $filter or $orderby expression.</summary>
public abstract record FilterNode;

/// <summary>A constant: double, string, bool, <see cref="DateTimeOffset"/>, <see cref="Geometry"/> or null.</summary>
public sealed record FilterLiteral(object? Value) : FilterNode;

/// <summary>A property path such as <c>result</c> or <c>Datastream/Thing/properties/site</c>.</summary>
public sealed record FilterPath(IReadOnlyList<string> Segments) : FilterNode
{
    public override string ToString() => string.Join('/', Segments);
}

public enum FilterOperator
{
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

public sealed record FilterBinary(FilterOperator Op, FilterNode Left, FilterNode Right) : FilterNode;

public sealed record FilterNot(FilterNode Operand) : FilterNode;

public sealed record FilterNegate(FilterNode Operand) : FilterNode;

public sealed record FilterCall(string Name, IReadOnlyList<FilterNode> Arguments) : FilterNode;

/// <summary>A time interval value (a window's phenomenonTime).</summary>
public readonly record struct TimeInterval(DateTimeOffset Start, DateTimeOffset End);

/// <summary>A $filter, $orderby or $expand that cannot be parsed or evaluated: becomes a 400 naming the option.</summary>
public sealed class FilterException(string message) : Exception(message);
