using System.Device.I2c;

namespace SensorKit.Node.Sensors;

/// <summary>
/// Opens I2C devices. The hardware implementation talks to /dev/i2c-N; the simulation hands out
/// register-level emulators, so the same drivers run in both.
/// </summary>
public interface II2cBusProvider
{
    I2cDevice Open(int bus, int address);

    /// <summary>True when something acknowledges at the address (a bus scan).</summary>
    bool Probe(int bus, int address)
    {
        using I2cDevice device = Open(bus, address);
        try
        {
            // A one-byte read is how i2cdetect -r probes; a missing device NACKs with an IOException.
            device.ReadByte();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}

/// <summary>The real buses of a Linux board (/dev/i2c-N).</summary>
public sealed class HardwareI2cBusProvider : II2cBusProvider
{
    public I2cDevice Open(int bus, int address) => I2cDevice.Create(new I2cConnectionSettings(bus, address));
}
