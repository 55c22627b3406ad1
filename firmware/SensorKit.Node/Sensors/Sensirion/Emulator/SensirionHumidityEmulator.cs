namespace SensorKit.Simulation.Emulators.Sensirion;

/// <summary>
/// What the SHT3x and the SHT4x measure alike: a temperature word and a humidity word per measurement, both
/// CRC-protected (SHT3x-DIS datasheet §4.4, SHT4x datasheet "Communication Timing"); the two differ in their
/// commands and in how a humidity word encodes %RH.
/// </summary>
public abstract class SensirionHumidityEmulator(int address, TimeProvider? time) : SensirionEmulator(address, time)
{
    private static readonly string[] QuantityNames = [Protocol.Quantities.Temperature, Protocol.Quantities.Humidity];

    private ushort _lastTemperature;
    private ushort _lastHumidity;
    private (ushort Temperature, ushort Humidity)? _raw;

    public override IReadOnlyList<string> Quantities => QuantityNames;

    /// <summary>Measurements performed; tests use it to tell a fresh reading from a stale one.</summary>
    public int Measurements { get; private set; }

    /// <summary>Makes every following measurement report these raw words (datasheet test vectors).</summary>
    public void SetRaw(ushort temperatureWord, ushort humidityWord)
    {
        lock (Sync)
        {
            _raw = (temperatureWord, humidityWord);
        }
    }

    /// <summary>The chip's humidity word for <paramref name="percent"/> %RH.</summary>
    protected abstract ushort HumidityWord(double percent);

    /// <summary>Measures (or, stuck, repeats the last result) and answers with both words once <paramref name="duration"/> has passed.</summary>
    protected void Measure(TimeSpan duration)
    {
        ChipFault faults = ActiveFaults;
        if ((faults & ChipFault.Stuck) == 0 || Measurements == 0)
        {
            Measurements++;
            if (_raw is { } raw)
            {
                (_lastTemperature, _lastHumidity) = raw;
            }
            else
            {
                // 0xFFFF decodes to 130 °C, beyond the 125 °C the chip is specified for.
                _lastTemperature = (faults & ChipFault.OutOfRange) != 0 ? ushort.MaxValue : EncodeCelsius(Input(Protocol.Quantities.Temperature, 20.0));
                _lastHumidity = HumidityWord(Input(Protocol.Quantities.Humidity, 50.0));
            }
        }

        Answer([_lastTemperature, _lastHumidity], duration);
    }
}
