using SensorKit.Gateway.Contracts;

namespace SensorKit.Gateway.Alerts.Cap;

/// <summary>
/// The rules' plain classes (Contracts/Alerting/AlertClasses.cs) as CAP 1.2 values: one to one, as both name their
/// members after CAP 1.2 §3.2.2 (tests/SensorKit.Tests/Architecture checks every member has its twin).
/// </summary>
internal static class CapMapping
{
    public static CapSeverity ToCap(this AlertSeverity v) => (CapSeverity)(int)v;

    public static CapCertainty ToCap(this AlertCertainty v) => (CapCertainty)(int)v;

    public static CapUrgency ToCap(this AlertUrgency v) => (CapUrgency)(int)v;

    public static CapCategory ToCap(this AlertCategory v) => (CapCategory)(int)v;

    public static CapResponseType ToCap(this AlertResponse v) => (CapResponseType)(int)v;

    public static IReadOnlyList<CapResponseType> ToCap(this IReadOnlyList<AlertResponse> v)
    {
        var list = new CapResponseType[v.Count];
        for (int i = 0; i < list.Length; i++)
        {
            list[i] = v[i].ToCap();
        }

        return list;
    }
}
