using System.Globalization;
using SensorKit.Gateway.Outputs.OpenData.Filter;

namespace SensorKit.Gateway.Outputs.OpenData.SensorThings;

/// <summary>A request that cannot be answered: a 400 (or the given status) whose message names the option or path.</summary>
public sealed class StaRequestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>An $expand item: a navigation property and the options of what it brings.</summary>
public sealed record StaExpand(StaNavigation Navigation, StaQuery Options);

/// <summary>The query options of one request or of one $expand item, checked against the entity type they apply to.</summary>
public sealed class StaQuery
{
    private static readonly string[] Known = ["$filter", "$expand", "$select", "$orderby", "$top", "$skip", "$count"];

    public FilterNode? Filter { get; private init; }

    public IReadOnlyList<(FilterNode Expression, bool Descending)> OrderBy { get; private init; } = [];

    public int? Top { get; private init; }

    public int Skip { get; private init; }

    public bool Count { get; private init; }

    public IReadOnlyList<string>? Select { get; private init; }

    public IReadOnlyList<StaExpand> Expand { get; private init; } = [];

    /// <summary>The options as given, for next links.</summary>
    public IReadOnlyList<(string Name, string Value)> Raw { get; private init; } = [];

    public int PageSize(OpenDataOptions o) => Top ?? o.DefaultTop;

    /// <summary>Parses options; <paramref name="prefix"/> names where they stand in messages, e.g. "$expand=Datastreams: ".</summary>
    public static StaQuery Parse(IEnumerable<(string Name, string Value)> options, StaKind kind, OpenDataOptions o, int depth = 0, string prefix = "")
    {
        var raw = new List<(string, string)>();
        FilterNode? filter = null;
        IReadOnlyList<(FilterNode, bool)> orderBy = [];
        int? top = null;
        int skip = 0;
        bool count = false;
        IReadOnlyList<string>? select = null;
        IReadOnlyList<StaExpand> expand = [];
        StaEntityType type = StaSchema.Of(kind);
        foreach ((string name, string value) in options)
        {
            if (!name.StartsWith('$'))
            {
                // Custom query options are the client's business (OData 4.01 §5.2).
                continue;
            }

            if (!Known.Contains(name))
            {
                throw Bad($"{prefix}{StaSchema.Clip(name)}: unknown query option; supported are {string.Join(", ", Known)}");
            }

            if (raw.Any(r => r.Item1 == name))
            {
                throw Bad($"{prefix}{name}: given twice");
            }

            raw.Add((name, value));
            string where = prefix + name;
            switch (name)
            {
                case "$filter":
                    if (value.Length > o.MaxFilterLength)
                    {
                        throw Bad($"{where}: longer than {o.MaxFilterLength} characters");
                    }

                    filter = Expression(where, () => FilterParser.Parse(value, o.MaxFilterDepth));
                    CheckPaths(where, filter, kind);
                    break;
                case "$orderby":
                    if (value.Length > o.MaxFilterLength)
                    {
                        throw Bad($"{where}: longer than {o.MaxFilterLength} characters");
                    }

                    orderBy = Expression(where, () => FilterParser.ParseOrderBy(value, o.MaxFilterDepth));
                    foreach ((FilterNode e, _) in orderBy)
                    {
                        CheckPaths(where, e, kind);
                    }

                    break;
                case "$top":
                    top = Integer(where, value, o.MaxTop, $"at most {o.MaxTop} (the server's maximum page)");
                    break;
                case "$skip":
                    skip = Integer(where, value, o.MaxSkip, $"at most {o.MaxSkip}");
                    break;
                case "$count":
                    count = value switch
                    {
                        "true" => true,
                        "false" => false,
                        _ => throw Bad($"{where}: '{StaSchema.Clip(value)}' is neither true nor false"),
                    };
                    break;
                case "$select":
                    var items = value.Split(',', StringSplitOptions.TrimEntries);
                    foreach (string item in items)
                    {
                        if (item is not ("id" or "@iot.id" or "selfLink" or "@iot.selfLink") && !type.Properties.Contains(item) && type.Navigation(item) is null)
                        {
                            throw Bad($"{where}: {type.SetName} have no property '{StaSchema.Clip(item)}'");
                        }
                    }

                    select = items;
                    break;
                case "$expand":
                    expand = ParseExpand(value, kind, o, depth, where);
                    break;
            }
        }

        return new StaQuery { Filter = filter, OrderBy = orderBy, Top = top, Skip = skip, Count = count, Select = select, Expand = expand, Raw = raw };
    }

    private static List<StaExpand> ParseExpand(string value, StaKind kind, OpenDataOptions o, int depth, string where)
    {
        var result = new List<StaExpand>();
        foreach (string item in SplitTopLevel(value, ',', where))
        {
            string path = item;
            string? inner = null;
            int paren = item.IndexOf('(', StringComparison.Ordinal);
            if (paren >= 0)
            {
                if (!item.EndsWith(')'))
                {
                    throw Bad($"{where}: '{StaSchema.Clip(item)}' does not end with ')'");
                }

                path = item[..paren].Trim();
                inner = item[(paren + 1)..^1];
            }

            string[] segments = path.Split('/', StringSplitOptions.TrimEntries);
            if (depth + segments.Length > o.MaxExpandDepth)
            {
                throw Bad($"{where}: nested deeper than {o.MaxExpandDepth} levels");
            }

            // Datastreams/Observations is Datastreams($expand=Observations).
            StaKind at = kind;
            var navs = new List<StaNavigation>();
            foreach (string segment in segments)
            {
                StaNavigation nav = StaSchema.Of(at).Navigation(segment)
                    ?? throw Bad($"{where}: {StaSchema.Of(at).SetName} have no navigation property '{StaSchema.Clip(segment)}'");
                navs.Add(nav);
                at = nav.Target;
            }

            List<(string, string)> innerOptions = [];
            if (inner is not null)
            {
                foreach (string option in SplitTopLevel(inner, ';', where))
                {
                    int eq = option.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw Bad($"{where}: '{StaSchema.Clip(option)}' is not $option=value");
                    }

                    innerOptions.Add((option[..eq].Trim(), option[(eq + 1)..]));
                }
            }

            StaQuery leaf = Parse(innerOptions, at, o, depth + segments.Length, $"{where}={string.Join('/', segments)}: ");
            for (int i = navs.Count - 1; i > 0; i--)
            {
                leaf = new StaQuery { Expand = [new StaExpand(navs[i], leaf)], Raw = [("$expand", ExpandText(navs[i], leaf))] };
            }

            result.Add(new StaExpand(navs[0], leaf));
        }

        return result;
    }

    private static string ExpandText(StaNavigation nav, StaQuery q) =>
        q.Raw.Count == 0 ? nav.Name : $"{nav.Name}({string.Join(';', q.Raw.Select(r => $"{r.Name}={r.Value}"))})";

    private static List<string> SplitTopLevel(string text, char separator, string where)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\'')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '(')
            {
                depth++;
            }
            else if (!quoted && c == ')')
            {
                if (--depth < 0)
                {
                    throw Bad($"{where}: unbalanced ')'");
                }
            }
            else if (!quoted && depth == 0 && c == separator)
            {
                parts.Add(text[start..i].Trim());
                start = i + 1;
            }
        }

        if (depth != 0 || quoted)
        {
            throw Bad($"{where}: unbalanced parentheses or quotes");
        }

        parts.Add(text[start..].Trim());
        if (parts.Any(p => p.Length == 0))
        {
            throw Bad($"{where}: an empty item");
        }

        return parts;
    }

    private static T Expression<T>(string where, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (FilterException e)
        {
            throw Bad($"{where}: {e.Message}");
        }
    }

    private static void CheckPaths(string where, FilterNode node, StaKind kind)
    {
        switch (node)
        {
            case FilterPath p when StaSchema.CheckPath(kind, p.Segments) is { } problem:
                throw Bad($"{where}: {problem}");
            case FilterBinary b:
                CheckPaths(where, b.Left, kind);
                CheckPaths(where, b.Right, kind);
                break;
            case FilterNot n:
                CheckPaths(where, n.Operand, kind);
                break;
            case FilterNegate n:
                CheckPaths(where, n.Operand, kind);
                break;
            case FilterCall c:
                foreach (FilterNode a in c.Arguments)
                {
                    CheckPaths(where, a, kind);
                }

                break;
        }
    }

    private static int Integer(string where, string value, int max, string limit)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
        {
            throw Bad($"{where}: '{StaSchema.Clip(value)}' is not a non-negative integer");
        }

        return n <= max ? n : throw Bad($"{where}: {n} is too large; {limit}");
    }

    private static StaRequestException Bad(string message) => new(400, message);
}
