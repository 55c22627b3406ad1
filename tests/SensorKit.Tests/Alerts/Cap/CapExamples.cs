using SensorKit.Gateway.Alerts.Cap;
using CapCategory = SensorKit.Gateway.Contracts.AlertCategory;
using CapCertainty = SensorKit.Gateway.Contracts.AlertCertainty;
using CapResponseType = SensorKit.Gateway.Contracts.AlertResponse;
using CapSeverity = SensorKit.Gateway.Contracts.AlertSeverity;
using CapUrgency = SensorKit.Gateway.Contracts.AlertUrgency;

namespace SensorKit.Tests.Alerts.Cap;

/// <summary>
/// Fixed, realistic messages: a flood on the Mosel at Cochem watched by three riverside nodes, from first
/// warning through escalation to all-clear, plus the operator message when one node drops out. Identifiers and
/// times are fixed so the output can be compared with docs/examples byte for byte.
/// </summary>
internal static class CapExamples
{
    public const string Sender = "gw-cochem.sensorkit.example";

    // Central European Summer Time: the gateway stamps local time with its offset.
    public static readonly TimeSpan Cest = TimeSpan.FromHours(2);

    public static readonly IReadOnlyList<(double Lat, double Lon)> RiversideNodes =
    [
        (50.14385, 7.16921), // sk-node-mos-01, Moselpromenade south, near Enderttor
        (50.14702, 7.16805), // sk-node-mos-02, Moselpromenade, Moselbrücke
        (50.15017, 7.16703), // sk-node-mos-03, Moselpromenade north
    ];

    public const double SiteRadiusKm = 0.3;

    private static readonly Uri SiteWeb = new("https://warnung.sensorkit.example/standorte/cochem-mosel");

    // Operator messages link to the message itself in the gateway's CAP feed, as the gateway does by default.
    private static readonly Uri OperatorWeb = new("https://gw-cochem.sensorkit.example/cap/SK-COCHEM-20250614-0101.xml");

    private static readonly CapArea AreaDe = CapArea.FromPoints(
        "Cochem (Mosel), Uferbereich Moselpromenade zwischen Enderttor und Moselbrücke", RiversideNodes, SiteRadiusKm);

    private static readonly CapArea AreaEn = AreaDe with { AreaDesc = "Cochem (Moselle), riverside along the Moselpromenade" };

    public static CapAlert FloodAlert() => new()
    {
        Identifier = "SK-COCHEM-20250614-0001",
        Sender = Sender,
        Sent = new DateTimeOffset(2025, 6, 14, 4, 12, 0, Cest),
        Status = CapStatus.Actual,
        MsgType = CapMsgType.Alert,
        Source = "rule flood.water-level.warning, nodes sk-node-mos-01..03",
        Infos =
        [
            FloodInfo(
                "de-DE",
                "Hochwasser",
                "SensorKit Hochwassermessnetz Cochem",
                "Hochwasser an der Mosel in Cochem: Wasserstand über der Warnschwelle",
                "Der Wasserstand an der Moselpromenade hat um 04:00 Uhr die Warnschwelle von 6,50 m überschritten "
                    + "und liegt bei 6,85 m. Er steigt um etwa 12 cm pro Stunde. Überflutungen der Uferstraße (B 49) und "
                    + "tief gelegener Keller in Ufernähe sind in den nächsten Stunden möglich.",
                "Fahrzeuge aus dem Uferbereich entfernen. Keller und Erdgeschosse in Ufernähe räumen und Gegenstände "
                    + "höher lagern. Uferwege meiden und aktuelle Meldungen verfolgen.",
                AreaDe),
            FloodInfo(
                "en-US",
                "Flood",
                "SensorKit flood monitoring network Cochem",
                "Flooding on the Moselle in Cochem: water level above warning threshold",
                "At 04:00 the water level along the Moselpromenade exceeded the warning threshold of 6.50 m and now "
                    + "stands at 6.85 m, rising by about 12 cm per hour. The riverside road (B 49) and low-lying "
                    + "basements near the river may flood within the next hours.",
                "Move vehicles away from the riverside. Clear basements and ground floors near the river and store "
                    + "belongings higher up. Keep off riverside paths and follow further announcements.",
                AreaEn),
        ],
    };

    public static CapAlert FloodUpdate()
    {
        var alert = FloodAlert();
        return new CapAlert
        {
            Identifier = "SK-COCHEM-20250614-0002",
            Sender = Sender,
            Sent = new DateTimeOffset(2025, 6, 14, 7, 45, 0, Cest),
            Status = CapStatus.Actual,
            MsgType = CapMsgType.Update,
            Source = "rule flood.water-level.alarm, nodes sk-node-mos-01, sk-node-mos-03",
            References = [CapReference.To(alert)],
            Infos =
            [
                FloodInfo(
                    "de-DE",
                    "Hochwasser",
                    "SensorKit Hochwassermessnetz Cochem",
                    "Hochwasser an der Mosel in Cochem steigt weiter: Alarmschwelle überschritten",
                    "Der Wasserstand an der Moselpromenade liegt um 07:40 Uhr bei 7,42 m und hat die Alarmschwelle von "
                        + "7,20 m überschritten. Er steigt weiterhin um etwa 10 cm pro Stunde. Die Uferstraße (B 49) ist "
                        + "zwischen Enderttor und Moselbrücke überflutet.",
                    "Uferbereich nicht betreten und nicht befahren. Keller in Ufernähe nicht mehr betreten, "
                        + "Stromversorgung dort nur abschalten, wenn der Sicherungskasten trocken erreichbar ist. "
                        + "Anweisungen der Einsatzkräfte folgen.",
                    AreaDe) with
                {
                    ResponseTypes = [CapResponseType.Avoid, CapResponseType.Prepare],
                    Urgency = CapUrgency.Immediate,
                    Severity = CapSeverity.Severe,
                    Onset = new DateTimeOffset(2025, 6, 14, 7, 40, 0, Cest),
                    Expires = new DateTimeOffset(2025, 6, 14, 19, 45, 0, Cest),
                    Parameters = LevelParameters("7.42", "7.20", "+10"),
                },
                FloodInfo(
                    "en-US",
                    "Flood",
                    "SensorKit flood monitoring network Cochem",
                    "Flooding on the Moselle in Cochem still rising: alarm threshold exceeded",
                    "At 07:40 the water level along the Moselpromenade stands at 7.42 m, above the alarm threshold of "
                        + "7.20 m, and is still rising by about 10 cm per hour. The riverside road (B 49) is flooded "
                        + "between Enderttor and the Moselle bridge.",
                    "Do not enter or drive along the riverside. Do not enter basements near the river; switch off "
                        + "power there only if the fuse box can be reached dry. Follow the instructions of emergency "
                        + "services.",
                    AreaEn) with
                {
                    ResponseTypes = [CapResponseType.Avoid, CapResponseType.Prepare],
                    Urgency = CapUrgency.Immediate,
                    Severity = CapSeverity.Severe,
                    Onset = new DateTimeOffset(2025, 6, 14, 7, 40, 0, Cest),
                    Expires = new DateTimeOffset(2025, 6, 14, 19, 45, 0, Cest),
                    Parameters = LevelParameters("7.42", "7.20", "+10"),
                },
            ],
        };
    }

    /// <summary>The all-clear: msgType Update with responseType AllClear, referencing every message it ends.</summary>
    public static CapAlert FloodAllClear() => new()
    {
        Identifier = "SK-COCHEM-20250615-0003",
        Sender = Sender,
        Sent = new DateTimeOffset(2025, 6, 15, 18, 30, 0, Cest),
        Status = CapStatus.Actual,
        MsgType = CapMsgType.Update,
        Source = "rule flood.water-level.all-clear, nodes sk-node-mos-01..03",
        References = [CapReference.To(FloodAlert()), CapReference.To(FloodUpdate())],
        Infos =
        [
            FloodInfo(
                "de-DE",
                "Hochwasser",
                "SensorKit Hochwassermessnetz Cochem",
                "Entwarnung: Hochwasser an der Mosel in Cochem unter der Warnschwelle",
                "Der Wasserstand an der Moselpromenade ist seit 17:50 Uhr unter die Warnschwelle von 6,50 m gefallen "
                    + "und liegt bei 6,31 m. Er sinkt um etwa 6 cm pro Stunde.",
                "Überflutete Bereiche erst nach Freigabe durch die Einsatzkräfte betreten. Auf Schlamm, "
                    + "Treibgut und Schäden an Gehwegen achten.",
                AreaDe) with
            {
                ResponseTypes = [CapResponseType.AllClear],
                Urgency = CapUrgency.Past,
                Severity = CapSeverity.Minor,
                Onset = null,
                Expires = new DateTimeOffset(2025, 6, 16, 6, 30, 0, Cest),
                Parameters = LevelParameters("6.31", "6.50", "-6"),
            },
            FloodInfo(
                "en-US",
                "Flood",
                "SensorKit flood monitoring network Cochem",
                "All clear: flooding on the Moselle in Cochem below warning threshold",
                "Since 17:50 the water level along the Moselpromenade has been below the warning threshold of 6.50 m "
                    + "and now stands at 6.31 m, falling by about 6 cm per hour.",
                "Enter flooded areas only once emergency services have released them. Watch for mud, debris and "
                    + "damaged footpaths.",
                AreaEn) with
            {
                ResponseTypes = [CapResponseType.AllClear],
                Urgency = CapUrgency.Past,
                Severity = CapSeverity.Minor,
                Onset = null,
                Expires = new DateTimeOffset(2025, 6, 16, 6, 30, 0, Cest),
                Parameters = LevelParameters("6.31", "6.50", "-6"),
            },
        ],
    };

    /// <summary>Technical message to the control room: one node stopped reporting during the flood.</summary>
    public static CapAlert NodeOffline()
    {
        var node = CapArea.FromPoints("Cochem (Mosel), Messknoten sk-node-mos-02 an der Moselbrücke", [RiversideNodes[1]], 0.1);
        return new CapAlert
        {
            Identifier = "SK-COCHEM-20250614-0101",
            Sender = Sender,
            Sent = new DateTimeOffset(2025, 6, 14, 5, 3, 0, Cest),
            Status = CapStatus.System,
            MsgType = CapMsgType.Alert,
            Source = "health monitor, node sk-node-mos-02",
            Scope = CapScope.Restricted,
            Restriction = "Betriebsmeldung für Leitstelle und Messnetzbetreiber, nicht zur Veröffentlichung",
            Note = "Technische Meldung des Messnetzes; kein Ereignis für die Bevölkerung.",
            Infos =
            [
                new CapInfo
                {
                    Language = "de-DE",
                    Categories = [CapCategory.Infra],
                    Event = "Ausfall Messknoten",
                    ResponseTypes = [CapResponseType.Monitor],
                    Urgency = CapUrgency.Immediate,
                    Severity = CapSeverity.Minor,
                    Certainty = CapCertainty.Observed,
                    Onset = new DateTimeOffset(2025, 6, 14, 4, 48, 0, Cest),
                    Expires = new DateTimeOffset(2025, 6, 14, 11, 3, 0, Cest),
                    SenderName = "SensorKit Hochwassermessnetz Cochem",
                    Headline = "Messknoten sk-node-mos-02 an der Moselpromenade Cochem sendet keine Daten",
                    Description = "Der Messknoten sk-node-mos-02 sendet seit 04:48 Uhr keine Messwerte mehr; der letzte "
                        + "Wert war 6,91 m um 04:47 Uhr. Vermutete Ursache: Stromversorgung am Standort überflutet. Bis zur "
                        + "Instandsetzung überwachen nur die Knoten sk-node-mos-01 und sk-node-mos-03 den Abschnitt.",
                    Instruction = "Wasserstand zusätzlich am amtlichen Pegel Cochem beobachten. Instandsetzung erst nach "
                        + "Rückgang des Hochwassers; Techniker nicht in den überfluteten Uferbereich schicken.",
                    Web = OperatorWeb,
                    Contact = "SensorKit Betriebszentrale, betrieb@sensorkit.example",
                    Parameters =
                    [
                        new CapParameter("sensorkit:node", "sk-node-mos-02"),
                        new CapParameter("sensorkit:lastSeen", "2025-06-14T04:47:52+02:00"),
                        new CapParameter("sensorkit:lastWaterLevel_m", "6.91"),
                    ],
                    Area = node,
                },
                new CapInfo
                {
                    Language = "en-US",
                    Categories = [CapCategory.Infra],
                    Event = "Sensor node outage",
                    ResponseTypes = [CapResponseType.Monitor],
                    Urgency = CapUrgency.Immediate,
                    Severity = CapSeverity.Minor,
                    Certainty = CapCertainty.Observed,
                    Onset = new DateTimeOffset(2025, 6, 14, 4, 48, 0, Cest),
                    Expires = new DateTimeOffset(2025, 6, 14, 11, 3, 0, Cest),
                    SenderName = "SensorKit flood monitoring network Cochem",
                    Headline = "Sensor node sk-node-mos-02 on the Moselpromenade in Cochem is not reporting",
                    Description = "Sensor node sk-node-mos-02 has sent no readings since 04:48; its last reading was "
                        + "6.91 m at 04:47. Suspected cause: flooded power supply at the site. Until it is repaired, only "
                        + "nodes sk-node-mos-01 and sk-node-mos-03 cover this stretch.",
                    Instruction = "Also watch the official Cochem river gauge. Repair only after the flood recedes; do not "
                        + "send technicians into the flooded riverside.",
                    Web = OperatorWeb,
                    Contact = "SensorKit operations centre, betrieb@sensorkit.example",
                    Parameters =
                    [
                        new CapParameter("sensorkit:node", "sk-node-mos-02"),
                        new CapParameter("sensorkit:lastSeen", "2025-06-14T04:47:52+02:00"),
                        new CapParameter("sensorkit:lastWaterLevel_m", "6.91"),
                    ],
                    Area = node with { AreaDesc = "Cochem (Moselle), sensor node sk-node-mos-02 at the Moselle bridge" },
                },
            ],
        };
    }

    /// <summary>The flood alert withdrawn because it was raised in error.</summary>
    public static CapAlert FloodCancel() => new()
    {
        Identifier = "SK-COCHEM-20250614-0004",
        Sender = Sender,
        Sent = new DateTimeOffset(2025, 6, 14, 4, 30, 0, Cest),
        Status = CapStatus.Actual,
        MsgType = CapMsgType.Cancel,
        Note = "Warnung irrtümlich ausgelöst: Messwert durch Treibgut am Sensor verfälscht.",
        References = [CapReference.To(FloodAlert())],
        Infos =
        [
            FloodInfo(
                "de-DE",
                "Hochwasser",
                "SensorKit Hochwassermessnetz Cochem",
                "Aufgehoben: Hochwasserwarnung für Cochem war ein Fehlalarm",
                "Die Warnung von 04:12 Uhr beruhte auf einem durch Treibgut verfälschten Messwert.",
                "Keine Maßnahmen erforderlich.",
                AreaDe) with
            {
                ResponseTypes = [CapResponseType.None],
                Urgency = CapUrgency.Past,
                Severity = CapSeverity.Minor,
                Onset = null,
                Expires = new DateTimeOffset(2025, 6, 14, 5, 30, 0, Cest),
                Parameters = LevelParameters("6.85", "6.50", "+12"),
            },
        ],
    };

    /// <summary>A drill: same content as the alert, marked Exercise with the note CAP expects for it.</summary>
    public static CapAlert FloodExercise() => FloodAlert() with
    {
        Identifier = "SK-COCHEM-20250510-9001",
        Sent = new DateTimeOffset(2025, 5, 10, 10, 0, 0, Cest),
        Status = CapStatus.Exercise,
        Note = "Übung „Moselhochwasser 2025“ mit der Feuerwehr Cochem; keine reale Gefahr.",
    };

    private static CapInfo FloodInfo(
        string language, string eventName, string senderName, string headline, string description, string instruction, CapArea area) => new()
    {
        Language = language,
        Categories = [CapCategory.Met], // CAP 1.2 §3.2.2: "Met - Meteorological (inc. flood)".
        Event = eventName,
        ResponseTypes = [CapResponseType.Prepare, CapResponseType.Monitor],
        Urgency = CapUrgency.Expected,
        Severity = CapSeverity.Moderate,
        Certainty = CapCertainty.Observed,
        Onset = new DateTimeOffset(2025, 6, 14, 4, 0, 0, Cest),
        Expires = new DateTimeOffset(2025, 6, 14, 16, 12, 0, Cest),
        SenderName = senderName,
        Headline = headline,
        Description = description,
        Instruction = instruction,
        Web = SiteWeb,
        Contact = language == "de-DE"
            ? "SensorKit Betriebszentrale, betrieb@sensorkit.example"
            : "SensorKit operations centre, betrieb@sensorkit.example",
        Parameters = LevelParameters("6.85", "6.50", "+12"),
        Area = area,
    };

    private static CapParameter[] LevelParameters(string levelM, string thresholdM, string trendCmPerHour) =>
    [
        new("sensorkit:site", "MOS-COCHEM"),
        new("sensorkit:waterLevel_m", levelM),
        new("sensorkit:threshold_m", thresholdM),
        new("sensorkit:trend_cm_per_h", trendCmPerHour),
    ];
}
