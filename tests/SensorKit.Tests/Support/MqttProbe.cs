using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Protocol;

namespace SensorKit.Tests.Support;

/// <summary>A plain MQTT subscriber, as an outside consumer would use: records every message it receives.</summary>
internal sealed class MqttProbe : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly List<Received> _all = [];
    private readonly Channel<Received> _arrivals = Channel.CreateUnbounded<Received>();
    private MqttClientOptions _options = null!;
    private string? _filter;

    public sealed record Received(string Topic, byte[] Payload, bool Retain)
    {
        public string Text => System.Text.Encoding.UTF8.GetString(Payload);

        /// <summary>When it arrived (<see cref="Stopwatch"/> ticks).</summary>
        public long At { get; init; } = Stopwatch.GetTimestamp();
    }

    /// <param name="filter">What to subscribe to; null for a client that only publishes.</param>
    /// <param name="persistentClientId">When set, the probe keeps an MQTT 5 session on the broker, so messages published while it is away wait for it.</param>
    /// <param name="account">When set, the probe logs in with it and its client id; otherwise it is anonymous.</param>
    public static async Task<MqttProbe> StartAsync(int port, string? filter = "sensorkit/#", string? persistentClientId = null, TestAccount? account = null)
    {
        var probe = new MqttProbe();
        probe._client.ApplicationMessageReceivedAsync += e =>
        {
            var r = new Received(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray(), e.ApplicationMessage.Retain);
            lock (probe._all)
            {
                probe._all.Add(r);
            }

            probe._arrivals.Writer.TryWrite(r);
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithClientId(persistentClientId ?? account?.ClientId ?? $"probe-{Guid.NewGuid():N}");
        if (account is not null)
        {
            // MQTT 5, so a refused publish says so in its PUBACK (MQTT 5.0 §3.4.2.1).
            options.WithCredentials(account.Name, account.Password).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500);
        }

        if (persistentClientId is not null)
        {
            options.WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).WithCleanStart(false).WithSessionExpiryInterval(3600);
        }

        probe._options = options.Build();
        probe._filter = filter;
        MqttClientConnectResult connected = await probe._client.ConnectAsync(probe._options);
        if (connected.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException($"the probe was refused: {connected.ResultCode}");
        }

        if (filter is not null)
        {
            await probe._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }

        return probe;
    }

    /// <summary>Connects again after the broker came back, retrying until it listens; subscribes again unless the broker kept the session. True when it did.</summary>
    public async Task<bool> ReconnectAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            try
            {
                MqttClientConnectResult result = await _client.ConnectAsync(_options, cts.Token);
                if (!result.IsSessionPresent && _filter is not null)
                {
                    await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(_filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), cts.Token);
                }

                return result.IsSessionPresent;
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException) when (!cts.IsCancellationRequested)
            {
                // Not listening yet: try again shortly.
                await Task.Delay(50, cts.Token);
            }
        }
    }

    public IReadOnlyList<Received> All
    {
        get
        {
            lock (_all)
            {
                return _all.ToArray();
            }
        }
    }

    /// <summary>Waits for the first message (from now on or already received) that matches; fails after <paramref name="timeout"/>.</summary>
    public async Task<Received> WaitForAsync(Func<Received, bool> match, TimeSpan timeout, string what, Func<string>? state = null)
    {
        lock (_all)
        {
            Received? seen = _all.FirstOrDefault(match);
            if (seen is not null)
            {
                return seen;
            }
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                Received r = await _arrivals.Reader.ReadAsync(cts.Token);
                if (match(r))
                {
                    return r;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no {what} within {timeout.TotalSeconds} s; received {All.Count} messages: {string.Join(", ", All.Select(m => m.Topic).Distinct().Take(20))}{(state is null ? string.Empty : $"; {state()}")}");
        }
    }

    public Task<MqttClientPublishResult> PublishAsync(string topic, byte[] payload, bool retain = false) =>
        _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build());

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build());
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException)
            {
                // The broker went away first; there is nobody left to say goodbye to.
            }
        }

        _client.Dispose();
    }
}
