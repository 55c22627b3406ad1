namespace SensorKit.Hosting;

/// <summary>
/// A setting the host cannot start with, found after validation (a folder that cannot be written, a port in use,
/// a file that does not parse). The message starts with the key or file; <see cref="HostRunner"/> turns it into
/// exit code 2.
/// </summary>
public class InvalidConfigurationException : Exception
{
    public InvalidConfigurationException(string message)
        : base(message)
    {
    }

    public InvalidConfigurationException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public InvalidConfigurationException()
    {
    }
}
