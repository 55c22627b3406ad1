namespace SensorKit.Gateway.Contracts;

// Plain enums for how rules class an alert. Their members are named as CAP 1.2 §3.2.2 names the values, so rule
// packs and the Rules section keep their spelling, and the CAP writer (an output) prints them as they are; other
// outputs (the JSON alert) print the same names. Nothing here knows CAP.

/// <summary>How bad it is.</summary>
public enum AlertSeverity
{
    Extreme,
    Severe,
    Moderate,
    Minor,
    Unknown,
}

/// <summary>How sure the gateway is.</summary>
public enum AlertCertainty
{
    Observed,
    Likely,
    Possible,
    Unlikely,
    Unknown,
}

/// <summary>How soon to act.</summary>
public enum AlertUrgency
{
    Immediate,
    Expected,
    Future,
    Past,
    Unknown,
}

/// <summary>What kind of hazard.</summary>
public enum AlertCategory
{
    Geo,
    Met,
    Safety,
    Security,
    Rescue,
    Fire,
    Health,
    Env,
    Transport,
    Infra,
    CBRNE,
    Other,
}

/// <summary>What people are asked to do.</summary>
public enum AlertResponse
{
    Shelter,
    Evacuate,
    Prepare,
    Execute,
    Avoid,
    Monitor,
    Assess,
    AllClear,
    None,
}

/// <summary>Bounds the rules' settings share with the alert outputs.</summary>
public static class AlertLimits
{
    /// <summary>Longest validity of an alert message (Rules:…:Expires, Cap:Expires).</summary>
    public static readonly TimeSpan MaxExpires = TimeSpan.FromDays(7);
}
