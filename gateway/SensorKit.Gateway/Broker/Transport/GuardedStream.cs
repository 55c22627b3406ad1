namespace SensorKit.Gateway.Broker.Transport;

/// <summary>A client connection's stream with an <see cref="MqttFrameGuard"/> on everything read from it.</summary>
internal sealed class GuardedStream(Stream inner, MqttFrameGuard guard, Action<MqttFrameViolationException> violated) : ReadInspectingStream(inner)
{
    protected override void Inspect(ReadOnlySpan<byte> data)
    {
        try
        {
            guard.Inspect(data);
        }
        catch (MqttFrameViolationException e)
        {
            violated(e);
            throw;
        }
    }
}
