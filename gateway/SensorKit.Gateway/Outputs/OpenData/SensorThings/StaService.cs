using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.History;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.Outputs.OpenData.Filter;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Fleet;

namespace SensorKit.Gateway.Outputs.OpenData.SensorThings;

/// <summary>
/// The SensorThings API v1.1, read only: Sensing Core entities from the node directory and the history, with the
/// query options of the request-data class. Every request is checked before anything is read: a bad one gets a 400
/// whose message names the option or path segment, and touches nothing.
/// </summary>
public sealed class StaService(IOptions<OpenDataOptions> options, Broker.BrokerEndpoint broker, IFleet nodes, NodePositionLog positions, ITelemetryHistory history, OpenDataLinks links, TimeProvider time)
{
    private readonly OpenDataOptions _o = options.Value;

    public async Task HandleAsync(HttpContext context)
    {
        HttpResponse response = context.Response;
        response.Headers.CacheControl = "no-cache";
        response.Headers.AccessControlAllowOrigin = "*";
        Uri root = new(links.Base(), StaSchema.PathPrefix + "/");
        Response plan;
        try
        {
            plan = Plan(context, root);
        }
        catch (StaRequestException e)
        {
            await WriteErrorAsync(response, e.Status, e.Message, context.RequestAborted);
            return;
        }

        response.StatusCode = 200;
        response.ContentType = plan.ContentType;
        var writer = new Utf8JsonWriter(response.BodyWriter, new JsonWriterOptions { Indented = false, SkipValidation = true });
        await using (writer.ConfigureAwait(false))
        {
            await plan.Write(writer, async () =>
            {
                // Flushed entity by entity, so a large page streams instead of piling up in memory.
                if (writer.BytesPending > 16 * 1024)
                {
                    writer.Flush();
                    await response.BodyWriter.FlushAsync(context.RequestAborted);
                }
            });
            writer.Flush();
        }
    }

    /// <summary>An Observation as the API writes it (links included, nothing expanded); null until the HTTP host listens.</summary>
    public byte[]? ObservationJson(StaEntity observation)
    {
        if (links.ServiceRoot is not { } root)
        {
            return null;
        }

        var empty = new StaCatalog(new Dictionary<(string, string), Protocol.NodeStatusMessage>(), new Dictionary<(string, string), IReadOnlyList<NodePosition>>(), [], _o, _ => null);
        var ctx = new WriteContext(empty, root, _o, history, time.GetUtcNow(), CancellationToken.None);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            int budget = 1;
            WriteEntity(w, ctx, observation, StaQuery.Parse([], StaKind.Observation, _o), ref budget);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The first window's start and the last window's end of a channel: two index lookups.</summary>
    internal static TimeInterval? Extent(ITelemetryHistory history, HistoryChannel c)
    {
        HistoryRow? first = null;
        HistoryRow? last = null;
        foreach (HistoryRow r in history.Scan(new HistoryScan { Channels = [c], OrderBy = [(HistoryColumn.End, false)], Limit = 1 }))
        {
            first = r;
        }

        foreach (HistoryRow r in history.Scan(new HistoryScan { Channels = [c], OrderBy = [(HistoryColumn.End, true)], Limit = 1 }))
        {
            last = r;
        }

        return first is { } f && last is { } l ? new TimeInterval(f.Start, l.End) : null;
    }

    internal static async Task WriteErrorAsync(HttpResponse response, int status, string message, CancellationToken ct)
    {
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            StaWriter.Error(w, status, message);
        }

        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ct);
    }

    private sealed record Response(string ContentType, Func<Utf8JsonWriter, Func<Task>, Task> Write);

    private Response Plan(HttpContext context, Uri root)
    {
        HttpRequest request = context.Request;
        if (request.QueryString.Value is { } qs && qs.Length > _o.MaxQueryLength)
        {
            throw new StaRequestException(414, $"the query string is longer than {_o.MaxQueryLength} characters");
        }

        var raw = new List<(string, string)>();
        foreach ((string key, Microsoft.Extensions.Primitives.StringValues values) in request.Query)
        {
            if (values.Count > 1)
            {
                throw new StaRequestException(400, $"{StaSchema.Clip(key)}: given twice");
            }

            raw.Add((key, values.ToString()));
        }

        string path = (request.Path.Value ?? string.Empty).TrimEnd('/');
        string prefix = "/" + StaSchema.PathPrefix;
        string rest = path.Length > prefix.Length ? path[(prefix.Length + 1)..] : string.Empty;
        var catalog = new StaCatalog(nodes.All, positions.All(), history.Channels(), _o, c => Extent(history, c));
        DateTimeOffset now = time.GetUtcNow();
        var ctx = new WriteContext(catalog, root, _o, history, now, context.RequestAborted);
        if (rest.Length == 0)
        {
            return new Response("application/json; charset=utf-8", (w, _) =>
            {
                WriteRoot(w, root);
                return Task.CompletedTask;
            });
        }

        string[] segments = rest.Split('/');
        if (segments.Length > 8)
        {
            throw new StaRequestException(400, "the path is longer than 8 segments");
        }

        // Walk the path: an entity set, then entities by id, navigation properties, a property, $value or $ref.
        (string first, string? firstKey) = Segment(segments[0]);
        StaEntityType type = StaSchema.BySet(first) ?? throw new StaRequestException(400, $"'{StaSchema.Clip(first)}' is not an entity set; the sets are {string.Join(", ", StaSchema.Types.Select(t => t.SetName))}");
        StaEntity? parent = null;
        StaEntity? entity = null;
        string self = type.SetName;
        bool collection = true;
        if (firstKey is not null)
        {
            entity = FindEntity(catalog, type.Kind, firstKey) ?? throw NotFound(type, firstKey);
            collection = false;
            self = $"{type.SetName}('{Escape(entity.Id)}')";
        }

        for (int i = 1; i < segments.Length; i++)
        {
            (string name, string? key) = Segment(segments[i]);
            if (collection && name == "$ref" && i == segments.Length - 1)
            {
                StaQuery refQuery = StaQuery.Parse(raw, type.Kind, _o);
                return CollectionResponse(ctx, type, parent, refQuery, raw, self, refs: true);
            }

            if (collection || entity is null)
            {
                throw new StaRequestException(400, $"'{StaSchema.Clip(name)}' cannot follow a collection; address one entity first, e.g. {type.SetName}('id')/{StaSchema.Clip(name)}");
            }

            if (type.Navigation(name) is { } nav)
            {
                if (key is not null && !nav.Collection)
                {
                    throw new StaRequestException(400, $"'{name}' is a single entity and takes no id");
                }

                self = $"{self}/{name}";
                StaEntityType target = StaSchema.Of(nav.Target);
                if (nav.Collection && key is null)
                {
                    parent = entity;
                    entity = null;
                    collection = true;
                }
                else if (nav.Collection)
                {
                    StaEntity e = FindEntity(catalog, target.Kind, key!) ?? throw NotFound(target, key!);
                    bool member = target.Kind == StaKind.Observation
                        ? catalog.ObservationChannels(entity).Any(c => c.Id == e.Channel!.Id)
                        : catalog.Navigate(entity, name).Contains(e);
                    entity = member ? e : throw NotFound(target, key!);
                    self = $"{target.SetName}('{Escape(e.Id)}')";
                }
                else
                {
                    entity = catalog.Navigate(entity, name).FirstOrDefault() ?? throw new StaRequestException(404, $"{self}: there is none");
                    self = $"{target.SetName}('{Escape(entity.Id)}')";
                }

                type = target;
                continue;
            }

            if (name is "id" or "@iot.id" || type.Properties.Contains(name))
            {
                if (key is not null)
                {
                    throw new StaRequestException(400, $"'{name}' is a property and takes no id");
                }

                object? value = name is "id" or "@iot.id" ? entity.Id : entity.Get(name);
                bool raw1 = i + 1 < segments.Length && segments[i + 1] == "$value";
                if (i + 1 < segments.Length && !(raw1 && i + 2 == segments.Length))
                {
                    throw new StaRequestException(400, $"only $value may follow the property '{name}'");
                }

                StaQuery.Parse(raw, type.Kind, _o);
                if (raw1)
                {
                    return new Response("text/plain; charset=utf-8", async (w, _) =>
                    {
                        string text = value switch
                        {
                            null => string.Empty,
                            string s => s,
                            _ => JsonSerializerValue(value),
                        };
                        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), context.RequestAborted);
                    });
                }

                return new Response("application/json; charset=utf-8", (w, _) =>
                {
                    w.WriteStartObject();
                    w.WritePropertyName(name);
                    StaWriter.Value(w, value);
                    w.WriteEndObject();
                    return Task.CompletedTask;
                });
            }

            throw new StaRequestException(400, $"{type.SetName} have no property or navigation property '{StaSchema.Clip(name)}'");
        }

        StaQuery query = StaQuery.Parse(raw, type.Kind, _o);
        if (!collection)
        {
            if (query.Filter is not null || query.OrderBy.Count > 0 || query.Top is not null || query.Skip > 0 || query.Count)
            {
                throw new StaRequestException(400, "$filter, $orderby, $top, $skip and $count apply to collections, not to one entity");
            }

            StaEntity one = entity!;
            return new Response("application/json; charset=utf-8", (w, _) =>
            {
                int budget = _o.MaxEntitiesPerResponse;
                WriteEntity(w, ctx, one, query, ref budget);
                return Task.CompletedTask;
            });
        }

        return CollectionResponse(ctx, type, parent, query, raw, self, refs: false);
    }

    private Response CollectionResponse(WriteContext ctx, StaEntityType type, StaEntity? parent, StaQuery query, List<(string, string)> raw, string self, bool refs)
    {
        int top = query.PageSize(_o);
        (List<StaEntity> page, bool more, long? count) = Page(ctx, type.Kind, parent, query, top, query.Skip);
        string? next = more ? NextLink(new Uri(ctx.Root, self), raw, query.Skip + top, top) : null;
        return new Response("application/json; charset=utf-8", async (w, flush) =>
        {
            int budget = _o.MaxEntitiesPerResponse;
            w.WriteStartObject();
            if (count is { } n)
            {
                w.WriteNumber("@iot.count", n);
            }

            if (next is not null)
            {
                w.WriteString("@iot.nextLink", next);
            }

            w.WriteStartArray("value");
            foreach (StaEntity e in page)
            {
                if (refs)
                {
                    w.WriteStartObject();
                    w.WriteString("@iot.selfLink", SelfLink(ctx, e));
                    w.WriteEndObject();
                }
                else
                {
                    WriteEntity(w, ctx, e, query, ref budget);
                }

                await flush();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>One page of a collection, the entities it holds below <paramref name="parent"/> (null: the whole set).</summary>
    private static (List<StaEntity> Page, bool More, long? Count) Page(WriteContext ctx, StaKind kind, StaEntity? parent, StaQuery q, int top, int skip)
    {
        if (kind == StaKind.Observation)
        {
            return ObservationQuery.Run(ctx.History, ctx.Catalog, ctx.Catalog.ObservationChannels(parent), q, top, skip, ctx.Options, ctx.Now, ctx.Cancel);
        }

        IEnumerable<StaEntity> items = parent is null ? ctx.Catalog.All(kind) : ctx.Catalog.Navigate(parent, NavigationName(parent.Kind, kind));
        if (q.Filter is { } f)
        {
            items = items.Where(e => FilterEvaluator.Matches(f, p => ctx.Catalog.Resolve(e, p), ctx.Now));
        }

        List<StaEntity> all = [.. items];
        if (q.OrderBy.Count > 0)
        {
            var comparer = Comparer<StaEntity>.Create((a, b) =>
            {
                foreach ((FilterNode e, bool desc) in q.OrderBy)
                {
                    int c = FilterEvaluator.Compare(FilterEvaluator.Evaluate(e, p => ctx.Catalog.Resolve(a, p), ctx.Now), FilterEvaluator.Evaluate(e, p => ctx.Catalog.Resolve(b, p), ctx.Now));
                    if (c != 0)
                    {
                        return desc ? -c : c;
                    }
                }

                return 0;
            });
            all = [.. all.Order(comparer)];
        }

        List<StaEntity> page = [.. all.Skip(skip).Take(top)];
        return (page, all.Count > skip + top, q.Count ? all.Count : null);
    }

    private static string NavigationName(StaKind from, StaKind to) =>
        StaSchema.Of(from).Navigations.First(n => n.Target == to).Name;

    private static void WriteEntity(Utf8JsonWriter w, WriteContext ctx, StaEntity e, StaQuery q, ref int budget)
    {
        budget--;
        StaEntityType type = StaSchema.Of(e.Kind);
        IReadOnlyList<string>? select = q.Select;
        bool Selected(string name) => select is null || select.Contains(name);
        w.WriteStartObject();
        string self = SelfLink(ctx, e);
        if (Selected("selfLink") || (select?.Contains("@iot.selfLink") ?? false))
        {
            w.WriteString("@iot.selfLink", self);
        }

        if (Selected("id") || (select?.Contains("@iot.id") ?? false))
        {
            w.WriteString("@iot.id", e.Id);
        }

        foreach (string p in type.Properties)
        {
            if (Selected(p))
            {
                w.WritePropertyName(p);
                StaWriter.Value(w, e.Get(p));
            }
        }

        foreach (StaNavigation nav in type.Navigations)
        {
            StaExpand? expand = q.Expand.FirstOrDefault(x => x.Navigation.Name == nav.Name);
            if (expand is null)
            {
                if (select is null || select.Contains(nav.Name))
                {
                    w.WriteString(nav.Name + "@iot.navigationLink", $"{self}/{nav.Name}");
                }

                continue;
            }

            if (!nav.Collection)
            {
                w.WritePropertyName(nav.Name);
                if (ctx.Catalog.Navigate(e, nav.Name).FirstOrDefault() is { } related && budget > 0)
                {
                    WriteEntity(w, ctx, related, expand.Options, ref budget);
                }
                else
                {
                    w.WriteNullValue();
                }

                continue;
            }

            int top = Math.Min(expand.Options.PageSize(ctx.Options), Math.Max(0, budget));
            (List<StaEntity> page, bool more, long? count) = Page(ctx, nav.Target, e, expand.Options, top, expand.Options.Skip);
            if (count is { } n)
            {
                w.WriteNumber(nav.Name + "@iot.count", n);
            }

            if (more)
            {
                w.WriteString(nav.Name + "@iot.nextLink", NextLink(new Uri($"{self}/{nav.Name}"), expand.Options.Raw, expand.Options.Skip + top, top));
            }

            w.WriteStartArray(nav.Name);
            foreach (StaEntity child in page)
            {
                WriteEntity(w, ctx, child, expand.Options, ref budget);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private void WriteRoot(Utf8JsonWriter w, Uri root)
    {
        w.WriteStartObject();
        w.WriteStartArray("value");
        foreach (StaEntityType t in StaSchema.Types)
        {
            w.WriteStartObject();
            w.WriteString("name", t.SetName);
            w.WriteString("url", new Uri(root, t.SetName).ToString());
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject("serverSettings");
        w.WriteStartArray("conformance");
        foreach (string c in StaSchema.Conformance)
        {
            w.WriteStringValue(c);
        }

        bool mqtt = StaMqttPublisher.Publishes(_o, broker);
        if (mqtt)
        {
            w.WriteStringValue(StaSchema.MqttReceiveUpdates);
        }

        w.WriteEndArray();
        if (mqtt)
        {
            // The broker is reached on the HTTP host's name: its own address may be a wildcard.
            w.WriteStartObject(StaSchema.MqttReceiveUpdates);
            w.WriteStartArray("endpoints");
            w.WriteStringValue($"mqtt://{root.Host}:{broker.Port.ToString(CultureInfo.InvariantCulture)}");
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndObject();
        // Not part of the standard: what a user of the data must know, at the first address they see.
        (string title, Uri url) = OpenDataOptions.Licenses[_o.License];
        w.WriteStartObject("license");
        w.WriteString("id", _o.License);
        w.WriteString("title", title);
        w.WriteString("url", url.ToString());
        w.WriteString("attribution", _o.Attribution ?? _o.Publisher);
        w.WriteString("catalog", new Uri(root, "../../open-data/catalog.jsonld").ToString());
        w.WriteString("archive", new Uri(root, "../../open-data/archive/index.json").ToString());
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static string SelfLink(WriteContext ctx, StaEntity e) => new Uri(ctx.Root, $"{StaSchema.Of(e.Kind).SetName}('{Escape(e.Id)}')").ToString();

    private static string NextLink(Uri self, IEnumerable<(string Name, string Value)> raw, long skip, int top)
    {
        var query = new StringBuilder();
        foreach ((string name, string value) in raw.Where(r => r.Name is not ("$skip" or "$top")).Append(("$top", top.ToString(CultureInfo.InvariantCulture))).Append(("$skip", skip.ToString(CultureInfo.InvariantCulture))))
        {
            query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
        }

        return self + query.ToString();
    }

    private StaEntity? FindEntity(StaCatalog catalog, StaKind kind, string id)
    {
        if (kind != StaKind.Observation)
        {
            return catalog.Find(kind, id);
        }

        return catalog.TryParseObservationId(id, out StaEntity datastream, out long end) ? ObservationAt(catalog, datastream, end) : null;
    }

    private StaEntity? ObservationAt(StaCatalog catalog, StaEntity datastream, long endMs)
    {
        var scan = new HistoryScan { Channels = [datastream.Channel!], Where = new HistoryCompare(HistoryColumn.End, HistoryComparison.Equal, endMs), Limit = 1 };
        return history.Scan(scan).Select(r => StaCatalog.Observation(r)).FirstOrDefault();
    }

    private static (string Name, string? Key) Segment(string segment)
    {
        int open = segment.IndexOf('(', StringComparison.Ordinal);
        if (open < 0)
        {
            return (segment, null);
        }

        if (!segment.EndsWith(')') || open == 0)
        {
            throw new StaRequestException(400, $"'{StaSchema.Clip(segment)}' is not Name or Name(id)");
        }

        string key = segment[(open + 1)..^1];
        if (key.Length >= 2 && key[0] == '\'' && key[^1] == '\'')
        {
            key = key[1..^1].Replace("''", "'", StringComparison.Ordinal);
        }

        return (segment[..open], key);
    }

    private static string Escape(string id) => Uri.EscapeDataString(id.Replace("'", "''", StringComparison.Ordinal));

    private static StaRequestException NotFound(StaEntityType type, string id) => new(404, $"{type.SetName}('{StaSchema.Clip(id)}') does not exist");

    private static string JsonSerializerValue(object value)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            StaWriter.Value(w, value);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private sealed record WriteContext(StaCatalog Catalog, Uri Root, OpenDataOptions Options, ITelemetryHistory History, DateTimeOffset Now, CancellationToken Cancel);
}
