using SensorKit.Hosting;

namespace SensorKit.Gateway;

/// <summary>
/// A setting that validates but does not work on this machine (a state folder that cannot be written, a port in
/// use). The message starts with the key; <see cref="HostRunner"/> turns it into exit code 2.
/// </summary>
public sealed class GatewayConfigurationException : InvalidConfigurationException
{
    public GatewayConfigurationException(string message)
        : base(message)
    {
    }

    public GatewayConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public GatewayConfigurationException()
    {
    }
}
