using SensorKit.Gateway.Contracts;
using SensorKit.Gateway.Fleet;

namespace SensorKit.Gateway.State;

/// <summary>
/// The gateway's durable state: active alerts, every alert message with its published flag, rule state and the
/// node directory. SQLite for one gateway (<see cref="SqliteAlertStore"/>), PostgreSQL for a gateway group, where a
/// write for a site the gateway no longer holds is refused with <see cref="SiteNotHeldException"/>.
/// Write failures are <see cref="StateStoreException"/>; whatever the database.
/// </summary>
/// <remarks>A <c>site</c> of null means every site: a single gateway loads all of it, a group member one site at a time.</remarks>
public interface IAlertStore : IRuleStateStore, INodeStatusStore, IDisposable
{
    /// <summary>Where the state is, for log lines (a file, a database); never a password.</summary>
    string Location { get; }

    /// <summary>Creates the schema if needed. Idempotent.</summary>
    void Open();

    IReadOnlyList<StoredAlert> LoadAlerts(string? site = null);

    /// <summary>
    /// Stores one alert step atomically: the message, the alert's new record (or its removal when it ended) and the
    /// dirty rule state that led to it.
    /// </summary>
    void CommitStep(StoredAlert alert, bool ended, StoredMessage? message, IEnumerable<IPersistentState> dirty);

    /// <summary>Notes that a message reached the broker, so a restart or a takeover does not send it again.</summary>
    void MarkPublished(string identifier);

    /// <summary>Messages stored but not yet acknowledged by the broker, oldest first.</summary>
    IReadOnlyList<StoredMessage> LoadUnpublished(string? site = null);

    StoredMessage? LoadMessage(string identifier);

    /// <summary>
    /// Messages of the alerts that are active or ended at or after <paramref name="since"/>, newest first, with CAP
    /// documents only: what the Atom feed lists.
    /// </summary>
    IReadOnlyList<StoredMessage> LoadFeed(DateTimeOffset since, int max);

    /// <summary>Deletes the messages of alerts that ended before <paramref name="before"/>; returns how many.</summary>
    int Prune(DateTimeOffset before);
}
