namespace SensorKit.Gateway.Outputs.OpenData;

/// <summary>Where the gateway's HTTP host is reached (its public URL when configured); asked late, as the port may be 0 until it listens.</summary>
public sealed class OpenDataLinks(Func<Uri?> baseAddress)
{
    public Uri Base() => baseAddress() ?? throw new InvalidOperationException("The gateway's HTTP host is not listening.");

    /// <summary>The SensorThings service root; null until the host listens.</summary>
    public Uri? ServiceRoot => baseAddress() is { } b ? new Uri(b, SensorThings.StaSchema.PathPrefix + "/") : null;

    public Uri? Catalog => baseAddress() is { } b ? new Uri(b, "open-data/catalog.jsonld") : null;
}
