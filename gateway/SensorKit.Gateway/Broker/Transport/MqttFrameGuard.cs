namespace SensorKit.Gateway.Broker.Transport;

/// <summary>Why the transport closed a connection before the broker saw the packet.</summary>
public enum FrameViolation
{
    /// <summary>A declared remaining length above the limit (the CVE-2017-7651 class: memory reserved before login).</summary>
    PacketTooLarge,

    /// <summary>A remaining length encoded in more than four bytes (MQTT 5.0 §1.5.5, 3.1.1 §2.2.3).</summary>
    MalformedLength,

    /// <summary>The first packet is not CONNECT (MQTT 5.0 §3.1 [MQTT-3.1.0-1]).</summary>
    NotConnectFirst,

    /// <summary>CONNECT flags the specification forbids (MQTT 5.0 §3.1.2.3, 3.1.1 §3.1.2.3).</summary>
    InvalidConnectFlags,
}

/// <summary>A connection closed by <see cref="MqttFrameGuard"/>.</summary>
public sealed class MqttFrameViolationException(FrameViolation violation, string message) : IOException(message)
{
    public FrameViolation Violation { get; } = violation;
}

/// <summary>
/// Follows the MQTT framing of the bytes a client sends, as they pass, and stops a connection at the first byte
/// that breaks the limits — before MQTTnet, which allocates the whole declared remaining length up front, sees the
/// length. Only the fixed headers and the CONNECT flags are read; everything else passes untouched.
/// </summary>
public sealed class MqttFrameGuard(int maxConnectBytes, int maxPacketBytes)
{
    private const byte ConnectType = 1;

    private State _state = State.Header;
    private bool _first = true;
    private byte _type;
    private int _length;
    private int _lengthBytes;
    private int _multiplier = 1;
    private long _remaining;
    private long _bodyOffset;
    private int _protocolNameLength;
    private byte _level;

    private enum State
    {
        Header,
        Length,
        Body,
    }

    /// <summary>Whether the CONNECT packet has passed.</summary>
    public bool Connected => !_first;

    /// <summary>Checks the next bytes of the stream; throws <see cref="MqttFrameViolationException"/> at the first bad one.</summary>
    public void Inspect(ReadOnlySpan<byte> data)
    {
        int i = 0;
        while (i < data.Length)
        {
            switch (_state)
            {
                case State.Header:
                    _type = (byte)(data[i++] >> 4);
                    if (_first && _type != ConnectType)
                    {
                        throw new MqttFrameViolationException(FrameViolation.NotConnectFirst, $"first packet has type {_type}, not CONNECT");
                    }

                    _length = 0;
                    _lengthBytes = 0;
                    _multiplier = 1;
                    _state = State.Length;
                    break;

                case State.Length:
                    byte b = data[i++];
                    if (++_lengthBytes > 4)
                    {
                        throw new MqttFrameViolationException(FrameViolation.MalformedLength, "remaining length longer than four bytes");
                    }

                    _length += (b & 0x7F) * _multiplier;
                    _multiplier *= 128;
                    if ((b & 0x80) != 0)
                    {
                        // Refuse as soon as the length is certain to exceed the limit, not only at its last byte.
                        if (_length > Limit && _lengthBytes < 4)
                        {
                            throw TooLarge(_length);
                        }

                        break;
                    }

                    if (_length > Limit)
                    {
                        throw TooLarge(_length);
                    }

                    _remaining = _length;
                    _bodyOffset = 0;
                    if (_remaining == 0)
                    {
                        EndPacket();
                    }
                    else
                    {
                        _state = State.Body;
                    }

                    break;

                case State.Body:
                    if (_first)
                    {
                        InspectConnect(data[i++]);
                        _remaining--;
                        _bodyOffset++;
                    }
                    else
                    {
                        int skip = (int)Math.Min(_remaining, data.Length - i);
                        i += skip;
                        _remaining -= skip;
                    }

                    if (_remaining == 0)
                    {
                        EndPacket();
                    }

                    break;
            }
        }
    }

    private int Limit => _first ? maxConnectBytes : maxPacketBytes;

    private MqttFrameViolationException TooLarge(int length) =>
        new(FrameViolation.PacketTooLarge, $"packet of type {_type} declares {length} bytes, more than the limit of {Limit}");

    private void EndPacket()
    {
        _first = false;
        _state = State.Header;
    }

    /// <summary>The CONNECT variable header: protocol name (2-byte length + bytes), level, flags (MQTT 5.0 §3.1.2).</summary>
    private void InspectConnect(byte b)
    {
        if (_bodyOffset == 0)
        {
            _protocolNameLength = b << 8;
        }
        else if (_bodyOffset == 1)
        {
            _protocolNameLength |= b;
        }
        else if (_bodyOffset == 2 + _protocolNameLength)
        {
            _level = b;
        }
        else if (_bodyOffset == 3 + _protocolNameLength)
        {
            CheckConnectFlags(b);
        }
    }

    private void CheckConnectFlags(byte flags)
    {
        bool will = (flags & 0x04) != 0;
        int willQos = (flags >> 3) & 0x03;
        bool willRetain = (flags & 0x20) != 0;
        bool password = (flags & 0x40) != 0;
        bool user = (flags & 0x80) != 0;
        string? problem =
            (flags & 0x01) != 0 ? "the reserved flag is set [MQTT-3.1.2-3]"
            : willQos == 3 ? "will QoS 3 [MQTT-3.1.2-14]"
            : !will && (willQos != 0 || willRetain) ? "will QoS or retain without a will [MQTT-3.1.2-11, -13]"
            : _level <= 4 && password && !user ? "a password without a user name [MQTT-3.1.2-22]"
            : null;
        if (problem is not null)
        {
            throw new MqttFrameViolationException(FrameViolation.InvalidConnectFlags, $"CONNECT flags 0x{flags:X2}: {problem}");
        }
    }
}
