using System.Globalization;
using NetTopologySuite.Geometries;
using NetTopologySuite.IO;

namespace SensorKit.Gateway.Outputs.OpenData.Filter;

/// <summary>
/// Recursive-descent parser of the OData expression syntax SensorThings uses in $filter and $orderby, with
/// OData's precedence (or, and, eq/ne, gt/ge/lt/le, add/sub, mul/div/mod, not and unary minus). Bounded: the text
/// length is checked by the caller, the nesting depth here, every number must be finite.
/// </summary>
public sealed class FilterParser
{
    /// <summary>Functions and how many arguments each takes.</summary>
    public static readonly IReadOnlyDictionary<string, (int Min, int Max)> Functions = new Dictionary<string, (int, int)>(StringComparer.Ordinal)
    {
        ["substringof"] = (2, 2), ["contains"] = (2, 2), ["endswith"] = (2, 2), ["startswith"] = (2, 2), ["length"] = (1, 1),
        ["indexof"] = (2, 2), ["substring"] = (2, 3), ["tolower"] = (1, 1), ["toupper"] = (1, 1), ["trim"] = (1, 1), ["concat"] = (2, 2),
        ["year"] = (1, 1), ["month"] = (1, 1), ["day"] = (1, 1), ["hour"] = (1, 1), ["minute"] = (1, 1), ["second"] = (1, 1),
        ["fractionalseconds"] = (1, 1), ["date"] = (1, 1), ["time"] = (1, 1), ["totaloffsetminutes"] = (1, 1), ["now"] = (0, 0),
        ["mindatetime"] = (0, 0), ["maxdatetime"] = (0, 0), ["round"] = (1, 1), ["floor"] = (1, 1), ["ceiling"] = (1, 1),
        ["geo.distance"] = (2, 2), ["geo.length"] = (1, 1), ["geo.intersects"] = (2, 2), ["st_equals"] = (2, 2), ["st_disjoint"] = (2, 2),
        ["st_touches"] = (2, 2), ["st_within"] = (2, 2), ["st_overlaps"] = (2, 2), ["st_crosses"] = (2, 2), ["st_intersects"] = (2, 2),
        ["st_contains"] = (2, 2), ["st_relate"] = (3, 3),
    };

    private static readonly Dictionary<string, FilterOperator> Comparisons = new(StringComparer.Ordinal)
    {
        ["eq"] = FilterOperator.Eq, ["ne"] = FilterOperator.Ne, ["gt"] = FilterOperator.Gt, ["ge"] = FilterOperator.Ge,
        ["lt"] = FilterOperator.Lt, ["le"] = FilterOperator.Le,
    };

    private readonly string _text;
    private readonly int _maxDepth;
    private int _pos;
    private int _depth;

    private FilterParser(string text, int maxDepth)
    {
        _text = text;
        _maxDepth = maxDepth;
    }

    /// <summary>Largest WKT literal taken, in characters.</summary>
    public const int MaxGeometryLength = 4096;

    public static FilterNode Parse(string text, int maxDepth = 32)
    {
        var p = new FilterParser(text, maxDepth);
        FilterNode node = p.Or();
        p.SkipSpace();
        if (p._pos < text.Length)
        {
            throw p.Error($"unexpected '{p.Peek(12)}'");
        }

        return node;
    }

    /// <summary>An $orderby: comma-separated expressions, each optionally followed by asc or desc.</summary>
    public static IReadOnlyList<(FilterNode Expression, bool Descending)> ParseOrderBy(string text, int maxDepth = 32)
    {
        var p = new FilterParser(text, maxDepth);
        var items = new List<(FilterNode, bool)>();
        do
        {
            FilterNode e = p.Or();
            bool desc = false;
            if (p.TryKeyword("desc"))
            {
                desc = true;
            }
            else
            {
                p.TryKeyword("asc");
            }

            items.Add((e, desc));
            p.SkipSpace();
        }
        while (p.TryChar(','));

        if (p._pos < text.Length)
        {
            throw p.Error($"unexpected '{p.Peek(12)}'");
        }

        return items;
    }

    private FilterNode Or() => LeftAssociative(And, static k => k == "or" ? FilterOperator.Or : null);

    private FilterNode And() => LeftAssociative(Equality, static k => k == "and" ? FilterOperator.And : null);

    private FilterNode Equality() => LeftAssociative(Relational, static k => k switch { "eq" => FilterOperator.Eq, "ne" => FilterOperator.Ne, _ => null });

    private FilterNode Relational() => LeftAssociative(Additive, static k => k is "gt" or "ge" or "lt" or "le" ? Comparisons[k] : null);

    private FilterNode Additive() => LeftAssociative(Multiplicative, static k => k switch { "add" => FilterOperator.Add, "sub" => FilterOperator.Sub, _ => null });

    private FilterNode Multiplicative() => LeftAssociative(Unary, static k => k switch { "mul" => FilterOperator.Mul, "div" => FilterOperator.Div, "mod" => FilterOperator.Mod, _ => null });

    private FilterNode LeftAssociative(Func<FilterNode> next, Func<string, FilterOperator?> op)
    {
        FilterNode left = next();
        while (true)
        {
            int save = _pos;
            SkipSpace();
            string word = Word();
            if (word.Length > 0 && op(word) is { } o && AtSpaceOrParen())
            {
                left = new FilterBinary(o, left, next());
                continue;
            }

            _pos = save;
            return left;
        }
    }

    private FilterNode Unary()
    {
        Enter();
        try
        {
            SkipSpace();
            if (TryKeyword("not"))
            {
                return new FilterNot(Unary());
            }

            if (_pos < _text.Length && _text[_pos] == '-' && !(_pos + 1 < _text.Length && char.IsAsciiDigit(_text[_pos + 1])))
            {
                _pos++;
                return new FilterNegate(Unary());
            }

            return Primary();
        }
        finally
        {
            _depth--;
        }
    }

    private FilterNode Primary()
    {
        SkipSpace();
        if (_pos >= _text.Length)
        {
            throw Error("the expression ends too early");
        }

        char c = _text[_pos];
        if (c == '(')
        {
            _pos++;
            FilterNode inner = Or();
            SkipSpace();
            Expect(')');
            return inner;
        }

        if (c == '\'')
        {
            return new FilterLiteral(StringLiteral());
        }

        if (char.IsAsciiDigit(c) || c == '-')
        {
            return NumberOrDate();
        }

        if (!IsWordChar(c))
        {
            throw Error($"unexpected '{Peek(12)}'");
        }

        int start = _pos;
        string word = Word();
        switch (word)
        {
            case "true":
                return new FilterLiteral(true);
            case "false":
                return new FilterLiteral(false);
            case "null":
                return new FilterLiteral(null);
            case "geography" or "geometry" when _pos < _text.Length && _text[_pos] == '\'':
                return new FilterLiteral(Geometry(word));
        }

        SkipSpace();
        if (_pos < _text.Length && _text[_pos] == '(')
        {
            if (!Functions.TryGetValue(word, out (int Min, int Max) arity))
            {
                throw Error($"unknown function '{Clip(word)}'", start);
            }

            _pos++;
            var args = new List<FilterNode>();
            SkipSpace();
            if (!TryChar(')'))
            {
                do
                {
                    args.Add(Or());
                    SkipSpace();
                }
                while (TryChar(','));
                Expect(')');
            }

            if (args.Count < arity.Min || args.Count > arity.Max)
            {
                throw Error($"function '{word}' takes {(arity.Min == arity.Max ? arity.Min.ToString(CultureInfo.InvariantCulture) : $"{arity.Min} to {arity.Max}")} arguments, not {args.Count}", start);
            }

            return new FilterCall(word, args);
        }

        var segments = new List<string> { word };
        while (_pos < _text.Length && _text[_pos] == '/')
        {
            _pos++;
            string next = Word();
            if (next.Length == 0)
            {
                throw Error("a property path ends with '/'");
            }

            segments.Add(next);
            if (segments.Count > 8)
            {
                throw Error("a property path is longer than 8 segments", start);
            }
        }

        return new FilterPath(segments);
    }

    private FilterLiteral NumberOrDate()
    {
        int start = _pos;
        if (_text[_pos] == '-')
        {
            _pos++;
        }

        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '.' or ':' or '-' or '+'))
        {
            // A '-' or '+' inside a number is part of it only after an exponent or inside a date.
            if (_text[_pos] is '-' or '+' && !(_text[_pos - 1] is 'e' or 'E' || LooksLikeDate(start)))
            {
                break;
            }

            _pos++;
        }

        string token = _text[start.._pos];
        if (token.Length >= 10 && LooksLikeDate(start))
        {
            if (DateTimeOffset.TryParseExact(token, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd"],
                    CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset t))
            {
                return new FilterLiteral(t);
            }

            throw Error($"'{Clip(token)}' is not an ISO 8601 date-time with a time zone, e.g. 2026-07-01T00:00:00Z", start);
        }

        string number = token.TrimEnd('d', 'D', 'f', 'F', 'm', 'M', 'L');
        if (double.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v))
        {
            return new FilterLiteral(v);
        }

        throw Error($"'{Clip(token)}' is not a finite number", start);
    }

    private bool LooksLikeDate(int start) =>
        _text.Length - start >= 10 && char.IsAsciiDigit(_text[start]) && _text[start + 4] == '-' && _text[start + 7] == '-';

    private string StringLiteral()
    {
        int start = _pos;
        _pos++;
        var sb = new System.Text.StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw Error("a string is not closed with '", start);
            }

            char c = _text[_pos++];
            if (c == '\'')
            {
                if (_pos < _text.Length && _text[_pos] == '\'')
                {
                    sb.Append('\'');
                    _pos++;
                    continue;
                }

                return sb.ToString();
            }

            sb.Append(c);
        }
    }

    private Geometry Geometry(string kind)
    {
        int start = _pos;
        string wkt = StringLiteral();
        if (wkt.Length > MaxGeometryLength)
        {
            throw Error($"a {kind} literal is longer than {MaxGeometryLength} characters", start);
        }

        try
        {
            Geometry g = new WKTReader().Read(wkt);
            if (!g.Coordinates.All(c => double.IsFinite(c.X) && double.IsFinite(c.Y)))
            {
                throw Error($"{kind}'{Clip(wkt)}' has coordinates that are not finite", start);
            }

            return g;
        }
        catch (ParseException e)
        {
            throw Error($"{kind}'{Clip(wkt)}' is not well-known text: {e.Message}", start);
        }
        catch (ArgumentException e)
        {
            throw Error($"{kind}'{Clip(wkt)}' is not a valid geometry: {e.Message}", start);
        }
    }

    private string Word()
    {
        int start = _pos;
        while (_pos < _text.Length && IsWordChar(_text[_pos]))
        {
            _pos++;
        }

        return _text[start.._pos];
    }

    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '@';

    private bool AtSpaceOrParen() => _pos >= _text.Length || _text[_pos] is ' ' or '(' or '\'' or '-';

    private bool TryKeyword(string keyword)
    {
        int save = _pos;
        SkipSpace();
        if (string.CompareOrdinal(_text, _pos, keyword, 0, keyword.Length) == 0
            && (_pos + keyword.Length == _text.Length || !IsWordChar(_text[_pos + keyword.Length])))
        {
            _pos += keyword.Length;
            return true;
        }

        _pos = save;
        return false;
    }

    private bool TryChar(char c)
    {
        SkipSpace();
        if (_pos < _text.Length && _text[_pos] == c)
        {
            _pos++;
            return true;
        }

        return false;
    }

    private void Expect(char c)
    {
        if (!TryChar(c))
        {
            throw Error(_pos >= _text.Length ? $"'{c}' expected at the end" : $"'{c}' expected, not '{Peek(12)}'");
        }
    }

    private void SkipSpace()
    {
        while (_pos < _text.Length && _text[_pos] == ' ')
        {
            _pos++;
        }
    }

    private void Enter()
    {
        if (++_depth > _maxDepth)
        {
            throw Error($"nested deeper than {_maxDepth} levels");
        }
    }

    private string Peek(int n) => Clip(_text.Substring(_pos, Math.Min(n, _text.Length - _pos)));

    private static string Clip(string s) => s.Length <= 40 ? s : string.Concat(s.AsSpan(0, 40), "...");

    private FilterException Error(string message, int? at = null) =>
        new($"{message} (at character {(at ?? _pos) + 1})");
}
