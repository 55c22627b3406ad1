namespace SensorKit.Simulation.Emulators;

/// <summary>
/// Marks the <see cref="ChipEmulator"/> of a sensor type, so <see cref="SimulatedI2cBus"/> finds it without a list of its
/// own: the sensor's registration in the catalog is its only one. The emulator needs a constructor whose first
/// parameter is the I2C address and whose other parameters are optional.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class SensorEmulatorAttribute(string sensorType) : Attribute
{
    /// <summary>The sensor type's name in the catalog, e.g. "bme280".</summary>
    public string SensorType { get; } = sensorType;
}
