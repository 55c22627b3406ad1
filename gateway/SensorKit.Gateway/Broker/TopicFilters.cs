namespace SensorKit.Gateway.Broker;

/// <summary>MQTT topic filter matching (MQTT 5.0 §4.7), without allocating.</summary>
public static class TopicFilters
{
    /// <summary>True when the topic name matches the filter. '#' also matches the parent level (§4.7.1.2).</summary>
    public static bool Matches(ReadOnlySpan<char> filter, ReadOnlySpan<char> topic)
    {
        // §4.7.2: a filter starting with a wildcard does not match a topic starting with '$'.
        if (topic.StartsWith("$") && filter.Length > 0 && filter[0] is '#' or '+')
        {
            return false;
        }

        while (true)
        {
            ReadOnlySpan<char> f = Next(ref filter, out bool filterEnded);
            if (f is "#")
            {
                return true;
            }

            ReadOnlySpan<char> t = Next(ref topic, out bool topicEnded);
            if (f is not "+" && !f.SequenceEqual(t))
            {
                return false;
            }

            if (filterEnded || topicEnded)
            {
                // "a/#" matches "a": the rest of the filter may be a lone '#'.
                return (filterEnded && topicEnded) || (topicEnded && filter is "#");
            }
        }
    }

    /// <summary>True when every topic that <paramref name="filter"/> can match also matches <paramref name="allowed"/>.</summary>
    public static bool Covers(ReadOnlySpan<char> allowed, ReadOnlySpan<char> filter)
    {
        if (filter.StartsWith("$") && allowed.Length > 0 && allowed[0] is '#' or '+')
        {
            return false;
        }

        while (true)
        {
            ReadOnlySpan<char> a = Next(ref allowed, out bool allowedEnded);
            if (a is "#")
            {
                return true;
            }

            ReadOnlySpan<char> f = Next(ref filter, out bool filterEnded);
            bool levelCovered = f is not "#" && (a is "+" || (f is not "+" && a.SequenceEqual(f)));
            if (!levelCovered)
            {
                return false;
            }

            if (allowedEnded || filterEnded)
            {
                return (allowedEnded && filterEnded) || (filterEnded && allowed is "#");
            }
        }
    }

    /// <summary>True when the name has no wildcard and no NUL, as a published topic must (§4.7.1, §1.5.4).</summary>
    public static bool IsValidTopicName(ReadOnlySpan<char> topic) => !topic.IsEmpty && topic.IndexOfAny('#', '+', '\0') < 0;

    private static ReadOnlySpan<char> Next(ref ReadOnlySpan<char> rest, out bool ended)
    {
        int slash = rest.IndexOf('/');
        ReadOnlySpan<char> level;
        if (slash < 0)
        {
            level = rest;
            rest = [];
            ended = true;
        }
        else
        {
            level = rest[..slash];
            rest = rest[(slash + 1)..];
            ended = false;
        }

        return level;
    }
}
