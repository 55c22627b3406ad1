using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SensorKit.Gateway.Ingest;
using SensorKit.Gateway.State;
using SensorKit.Protocol;
using SensorKit.Gateway.Storage;
using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Fleet;

namespace SensorKit.Gateway.Outputs.OpenData.SensorThings;

/// <summary>One published (rounded) position of a node, from <see cref="Since"/> on.</summary>
public sealed record NodePosition(DateTimeOffset Since, double Latitude, double Longitude);

/// <summary>
/// Where each node has stood, as published: a new entry when a node's rounded position changes, so moving a node
/// within its rounding grid leaves no trace. The source of HistoricalLocations. Kept in
/// <c>open-data-positions.json</c> in the state directory, at most <see cref="MaxPerNode"/> entries per node.
/// </summary>
public sealed class NodePositionLog
{
    public const int MaxPerNode = 64;

    private readonly OpenDataOptions _o;
    private readonly IFleet _nodes;
    private readonly string _file;
    private readonly Lock _lock = new();
    private Dictionary<(string Site, string Node), List<NodePosition>> _log = [];

    public NodePositionLog(IOptions<OpenDataOptions> options, IOptions<StateOptions> state, IHostEnvironment environment, IFleet nodes)
    {
        _o = options.Value;
        _nodes = nodes;
        _file = Path.Combine(state.Value.ResolveDirectory(environment.ContentRootPath), "open-data-positions.json");
        Load();
    }

    /// <summary>The positions of every node, oldest first; the node directory's current statuses are taken in first.</summary>
    public IReadOnlyDictionary<(string Site, string Node), IReadOnlyList<NodePosition>> All()
    {
        foreach (((string site, string node), NodeStatusMessage status) in _nodes.All)
        {
            Observe(status);
        }

        lock (_lock)
        {
            return _log.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<NodePosition>)[.. kv.Value]);
        }
    }

    /// <summary>Takes in a node's status: a new entry when its published position differs from the last one.</summary>
    public void Observe(NodeStatusMessage status)
    {
        if (_o.PublishedPosition(status.Site, status.Node, status.Location) is not { } p)
        {
            return;
        }

        DateTimeOffset since = status.Started ?? status.Time;
        lock (_lock)
        {
            if (!_log.TryGetValue((status.Site, status.Node), out List<NodePosition>? list))
            {
                _log[(status.Site, status.Node)] = list = [];
            }

            if (list.Count > 0 && (list[^1].Latitude == p.Latitude && list[^1].Longitude == p.Longitude || list[^1].Since >= since))
            {
                return;
            }

            list.Add(new NodePosition(since, p.Latitude, p.Longitude));
            if (list.Count > MaxPerNode)
            {
                list.RemoveAt(0);
            }

            Save();
        }
    }

    private void Load()
    {
        if (!File.Exists(_file))
        {
            return;
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(_file));
            var log = new Dictionary<(string, string), List<NodePosition>>();
            foreach (JsonElement e in doc.RootElement.EnumerateArray())
            {
                (string, string) key = (e.GetProperty("site").GetString()!, e.GetProperty("node").GetString()!);
                if (!log.TryGetValue(key, out List<NodePosition>? list))
                {
                    log[key] = list = [];
                }

                list.Add(new NodePosition(DateTimeOffset.Parse(e.GetProperty("since").GetString()!, CultureInfo.InvariantCulture), e.GetProperty("lat").GetDouble(), e.GetProperty("lon").GetDouble()));
            }

            _log = log;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException or IOException)
        {
            // A damaged file loses the past positions only; the current ones come back from the node directory.
            _log = [];
        }
    }

    private void Save()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        string temp = _file + ".tmp";
        using (FileStream stream = File.Create(temp))
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartArray();
            foreach (((string site, string node), List<NodePosition> list) in _log.OrderBy(kv => kv.Key))
            {
                foreach (NodePosition p in list)
                {
                    w.WriteStartObject();
                    w.WriteString("site", site);
                    w.WriteString("node", node);
                    w.WriteString("since", p.Since.ToString("O", CultureInfo.InvariantCulture));
                    w.WriteNumber("lat", p.Latitude);
                    w.WriteNumber("lon", p.Longitude);
                    w.WriteEndObject();
                }
            }

            w.WriteEndArray();
        }

        File.Move(temp, _file, overwrite: true);
    }
}
