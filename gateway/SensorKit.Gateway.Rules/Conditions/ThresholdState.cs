namespace SensorKit.Gateway.Rules;

/// <summary>What one evaluation changed.</summary>
public enum Transition
{
    None,
    Raise,
    Clear,
}

/// <summary>
/// The hysteresis and hold-time state machine of one threshold rule for one subject. Time is the
/// telemetry's own time (window end), so a replay gives the same timeline as live data.
/// A value dithering inside the band [threshold − hysteresis, threshold] changes nothing, so one
/// real crossing gives at most one raise and one clear.
/// </summary>
/// <remarks>
/// <paramref name="minWindows"/> evaluations in a row must be beyond the threshold before it raises, besides the hold
/// time: with Hold 0 and 2 windows, one window out of line (a glitch) is never an alert.
/// </remarks>
public sealed class ThresholdState(double threshold, double hysteresis, TimeSpan hold, bool above, int minWindows = 1)
{
    private DateTimeOffset? _pendingSince;
    private int _beyond;

    public bool Active { get; private set; }

    public DateTimeOffset? RaisedAt { get; private set; }

    /// <summary>Since when the value has been on the other side, waiting out the hold time; null when nothing is pending.</summary>
    public DateTimeOffset? PendingSince => _pendingSince;

    /// <summary>Restores a persisted active alert.</summary>
    public void Restore(DateTimeOffset raisedAt) => Restore(true, raisedAt, null);

    /// <summary>Windows in a row beyond the threshold while not active.</summary>
    public int WindowsBeyond => _beyond;

    /// <summary>Restores a persisted state exactly, pending hold time and windows counted included.</summary>
    public void Restore(bool active, DateTimeOffset? raisedAt, DateTimeOffset? pendingSince, int windowsBeyond = 0)
    {
        Active = active;
        RaisedAt = active ? raisedAt : null;
        _pendingSince = pendingSince;
        _beyond = active ? 0 : windowsBeyond;
    }

    public Transition Evaluate(double value, DateTimeOffset time)
    {
        if (!double.IsFinite(value))
        {
            return Transition.None;
        }

        bool beyond = above ? value >= threshold : value <= threshold;
        bool backInside = above ? value <= threshold - hysteresis : value >= threshold + hysteresis;
        if (!Active)
        {
            if (!beyond)
            {
                _pendingSince = null;
                _beyond = 0;
                return Transition.None;
            }

            _pendingSince ??= time;
            _beyond++;
            if (time - _pendingSince.Value < hold || _beyond < minWindows)
            {
                return Transition.None;
            }

            Active = true;
            RaisedAt = time;
            _pendingSince = null;
            _beyond = 0;
            return Transition.Raise;
        }

        if (!backInside)
        {
            _pendingSince = null;
            return Transition.None;
        }

        _pendingSince ??= time;
        if (time - _pendingSince.Value < hold)
        {
            return Transition.None;
        }

        Active = false;
        RaisedAt = null;
        _pendingSince = null;
        return Transition.Clear;
    }
}
