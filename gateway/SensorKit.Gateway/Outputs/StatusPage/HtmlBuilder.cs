using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>
/// Writes HTML (and inline SVG) with every text and attribute value encoded: node ids, names and alert texts come
/// from configuration and from the wire. Tag and attribute names are the code's own constants.
/// </summary>
internal sealed class HtmlBuilder
{
    // All of Unicode passes as itself (German text stays readable and small); markup characters and controls are encoded.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    private readonly StringBuilder _html = new(16 * 1024);

    public int Length => _html.Length;

    public HtmlBuilder Open(string tag, params ReadOnlySpan<(string Name, string? Value)> attributes)
    {
        _html.Append('<').Append(tag);
        foreach ((string name, string? value) in attributes)
        {
            if (value is null)
            {
                continue;
            }

            _html.Append(' ').Append(name);
            if (value.Length > 0 || name is not ("hidden" or "defer" or "required"))
            {
                _html.Append("=\"").Append(Encoder.Encode(value)).Append('"');
            }
        }

        _html.Append('>');
        return this;
    }

    public HtmlBuilder Close(string tag)
    {
        _html.Append("</").Append(tag).Append('>');
        return this;
    }

    /// <summary>An element with text content, encoded.</summary>
    public HtmlBuilder Element(string tag, string? text, params ReadOnlySpan<(string Name, string? Value)> attributes) =>
        Open(tag, attributes).Text(text).Close(tag);

    /// <summary>A void element (no content, no end tag), e.g. input or meta.</summary>
    public HtmlBuilder Void(string tag, params ReadOnlySpan<(string Name, string? Value)> attributes) => Open(tag, attributes);

    public HtmlBuilder Text(string? text)
    {
        if (!string.IsNullOrEmpty(text))
        {
            _html.Append(Encoder.Encode(text));
        }

        return this;
    }

    /// <summary>Markup this code wrote itself (a literal or another builder's output); never text from outside.</summary>
    public HtmlBuilder Trusted(HtmlBuilder inner)
    {
        _html.Append(inner._html);
        return this;
    }

    public HtmlBuilder Doctype()
    {
        _html.Append("<!doctype html>");
        return this;
    }

    public override string ToString() => _html.ToString();
}
