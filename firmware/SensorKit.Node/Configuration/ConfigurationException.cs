using SensorKit.Hosting;

namespace SensorKit.Node.Configuration;

/// <summary>A configuration file or value the node cannot start with; the message names the file or key.</summary>
public class ConfigurationException : InvalidConfigurationException
{
    public ConfigurationException(string message)
        : base(message)
    {
    }

    public ConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ConfigurationException()
    {
    }
}
