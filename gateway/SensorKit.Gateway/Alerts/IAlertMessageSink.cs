using SensorKit.Gateway.State;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Alerts;

/// <summary>
/// Where the alert lifecycle hands every message it publishes, once the step is stored: the MQTT publisher today
/// (<see cref="AlertPublisher"/>), others later (a webhook, an open-data feed). The state store is not one of them:
/// the lifecycle commits a step to it first, in one transaction with the rule state, and the CAP feed serves from it.
/// Registered in DI; every sink is called, in registration order, under the rule engine's lock, so it must only queue.
/// </summary>
internal interface IAlertMessageSink
{
    /// <summary>One alert step: the JSON alert, its CAP document (null when the document failed) and the step's CAP identifier.</summary>
    void OnStep(AlertMessage alert, byte[] json, byte[]? cap, string identifier, long receivedTimestamp);

    /// <summary>A CAP re-issue of an active alert before its message expires; the JSON state has not changed.</summary>
    void OnReissue(string site, string rule, string subject, byte[] cap, string identifier);

    /// <summary>After a restart: a stored step that had not gone out.</summary>
    void OnUnsent(StoredMessage message);

    /// <summary>After a restart: the current state of an alert that is still active (a fresh broker has forgotten retained messages).</summary>
    void OnStillActive(string site, string rule, string subject, byte[] json);
}
