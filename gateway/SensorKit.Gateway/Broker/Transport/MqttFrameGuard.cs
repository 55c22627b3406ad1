using System.Buffers.Binary;

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
/// length. Only the fixed headers, the CONNECT flags and the properties of an MQTT 5 DISCONNECT are read; everything
/// else passes untouched.
/// </summary>
public sealed class MqttFrameGuard(int maxConnectBytes, int maxPacketBytes)
{
    private const byte ConnectType = 1;
    private const byte DisconnectType = 14;

    // A DISCONNECT is read only up to this size; a larger one (long user properties) counts as having no session expiry.
    private const int DisconnectCapture = 1024;

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
    private byte[]? _disconnect;
    private int _disconnectRead;

    private enum State
    {
        Header,
        Length,
        Body,
    }

    /// <summary>Whether the CONNECT packet has passed.</summary>
    public bool Connected => !_first;

    /// <summary>
    /// The Session Expiry Interval of the last MQTT 5 DISCONNECT, when it carried one (5.0 §3.14.2.2.2). MQTTnet's
    /// decoder reads an explicit 0, which ends the session at once, the same as an absent one, which keeps it.
    /// </summary>
    public uint? DisconnectSessionExpiry { get; private set; }

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
                    _disconnect = !_first && _type == DisconnectType && _level == 5 && _length <= DisconnectCapture ? new byte[_length] : null;
                    _disconnectRead = 0;
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
                        if (_disconnect is not null)
                        {
                            data.Slice(i, skip).CopyTo(_disconnect.AsSpan(_disconnectRead));
                            _disconnectRead += skip;
                        }

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
        if (!_first && _type == DisconnectType && _level == 5)
        {
            DisconnectSessionExpiry = _disconnect is null ? null : SessionExpiryOf(_disconnect);
            _disconnect = null;
        }

        _first = false;
        _state = State.Header;
    }

    /// <summary>
    /// Property 0x11 of a DISCONNECT body: reason code, property length, then the properties DISCONNECT may carry
    /// (5.0 §3.14.2.2): session expiry (four bytes), reason string and server reference (strings), user properties (pairs).
    /// </summary>
    internal static uint? SessionExpiryOf(ReadOnlySpan<byte> body)
    {
        if (body.Length < 2)
        {
            return null;
        }

        int i = 1;
        int length = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (i >= body.Length || shift > 21)
            {
                return null;
            }

            byte b = body[i++];
            length |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        ReadOnlySpan<byte> properties = body.Slice(i, Math.Min(length, body.Length - i));
        int p = 0;
        while (p < properties.Length)
        {
            byte id = properties[p++];
            int strings = id switch { 0x1F or 0x1C => 1, 0x26 => 2, _ => 0 };
            if (id == 0x11)
            {
                return p + 4 <= properties.Length ? BinaryPrimitives.ReadUInt32BigEndian(properties[p..]) : null;
            }

            if (strings == 0)
            {
                return null;
            }

            for (int s = 0; s < strings; s++)
            {
                if (p + 2 > properties.Length)
                {
                    return null;
                }

                p += 2 + BinaryPrimitives.ReadUInt16BigEndian(properties[p..]);
            }
        }

        return null;
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
