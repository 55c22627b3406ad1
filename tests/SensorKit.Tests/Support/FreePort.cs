using System.Net;
using System.Net.Sockets;

namespace SensorKit.Tests.Support;

internal static class FreePort
{
    /// <summary>A TCP port on loopback that nobody listens on right now.</summary>
    public static int Get()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
