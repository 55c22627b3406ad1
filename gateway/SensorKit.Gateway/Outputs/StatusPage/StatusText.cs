using System.Globalization;
using SensorKit.Protocol;

namespace SensorKit.Gateway.Outputs.StatusPage;

/// <summary>
/// The page's words in German and English. Short sentences, the action first: people read this under stress.
/// </summary>
internal sealed class StatusText
{
    public static readonly StatusText German = new("de");
    public static readonly StatusText English = new("en");

    private readonly bool _de;

    private StatusText(string language)
    {
        Language = language;
        _de = language == "de";
        // The gateway runs in invariant globalization mode (no ICU), so the two number formats are set here.
        var culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        culture.NumberFormat.NumberDecimalSeparator = _de ? "," : ".";
        culture.NumberFormat.NumberGroupSeparator = _de ? "." : ",";
        Culture = CultureInfo.ReadOnly(culture);
    }

    public string Language { get; }

    public CultureInfo Culture { get; }

    public StatusText Other => _de ? English : German;

    public static StatusText For(string language) => language == "en" ? English : German;

    private string T(string de, string en) => _de ? de : en;

    public string SiteName => T("SensorKit Statusseite", "SensorKit status page");
    public string SkipLink => T("Zum Inhalt springen", "Skip to content");
    public string Navigation => T("Hauptnavigation", "Main navigation");
    public string LanguageName => T("Deutsch", "English");
    public string SwitchTo => T("Sprache wählen", "Choose language");
    public string NavWarnings => T("Warnungen", "Warnings");
    public string NavNodes => T("Standorte und Messknoten", "Sites and nodes");
    public string NavHistory => T("Verlauf der Warnungen", "Alert history");
    public string NavOperator => T("Betrieb", "Operations");
    public string FooterNote => T(
        "Messwerte von freiwillig betriebenen Sensorknoten. Diese Seite lädt nichts von anderen Servern und setzt keine Cookies.",
        "Measurements from volunteer-run sensor nodes. This page loads nothing from other servers and sets no cookies.");
    public string FeedLink => T("Alle Warnungen als Feed (Atom, CAP 1.2)", "All warnings as a feed (Atom, CAP 1.2)");
    public string OpenDataLink => T("Offene Daten (SensorThings API)", "Open data (SensorThings API)");

    public string LivePause => T("Live-Aktualisierung anhalten", "Pause live updates");
    public string LiveResume => T("Live-Aktualisierung fortsetzen", "Resume live updates");
    public string LiveOn => T("Diese Seite aktualisiert sich selbst.", "This page updates itself.");
    public string LivePaused => T("Live-Aktualisierung angehalten.", "Live updates paused.");

    public string WarningsTitle => T("Aktuelle Warnungen", "Current warnings");
    public string NoWarnings => T("Zurzeit gibt es keine Warnung.", "There is no warning at the moment.");
    public string WarningCount(int n) => n == 1 ? T("Es gibt 1 Warnung.", "There is 1 warning.") : T($"Es gibt {n} Warnungen.", $"There are {n} warnings.");
    public string WhatToDo => T("Was Sie tun sollten:", "What to do:");
    public string SeverityLabel => T("Warnstufe:", "Severity:");
    public string Severity(string cap) => cap switch
    {
        "Extreme" => T("extrem – Lebensgefahr", "extreme – danger to life"),
        "Severe" => T("schwer", "severe"),
        "Moderate" => T("mittel", "moderate"),
        "Minor" => T("gering", "minor"),
        _ => T("unbekannt", "unknown"),
    };
    public string AreaLabel => T("Gebiet:", "Area:");
    public string SinceLabel => T("Seit:", "Since:");
    public string UntilLabel => T("Gilt bis:", "Valid until:");
    public string CapLink => T("Signierte CAP-Meldung (XML)", "Signed CAP message (XML)");
    public string Exercise => T("Übung – keine echte Gefahr.", "Exercise – not a real danger.");
    public string MapOf(string area) => T($"Karte des Gebiets: {area}", $"Map of the area: {area}");
    public string MapPlace => T("Ihr Ort", "Your place");

    public string PlaceTitle => T("Warnungen für meinen Ort", "Warnings for my place");
    public string PlaceIntro => T(
        "Geben Sie einen Ort ein, oder Breiten- und Längengrad. Bekannt sind die Namen unserer Standorte und Messknoten.",
        "Enter a place, or latitude and longitude. We know the names of our sites and sensor nodes.");
    public string PlaceName => T("Ort", "Place");
    public string Latitude => T("Breitengrad (z. B. 50,94)", "Latitude (e.g. 50.94)");
    public string Longitude => T("Längengrad (z. B. 6,96)", "Longitude (e.g. 6.96)");
    public string Radius => T("Umkreis in Kilometern", "Radius in kilometres");
    public string PlaceSubmit => T("Warnungen anzeigen", "Show warnings");
    public string UseLocation => T("Meinen Standort verwenden", "Use my location");
    public string LocationHint => T(
        "Ihr Browser fragt vorher. Der Standort bleibt in diesem Formular und wird nicht gespeichert.",
        "Your browser asks first. The location stays in this form and is not stored.");
    public string LocationFailed => T("Der Standort ist nicht verfügbar. Bitte geben Sie ihn ein.", "Your location is not available. Please enter it.");
    public string PlaceResult(int n, double km) => n switch
    {
        0 => T($"Im Umkreis von {Number(km)} km gibt es keine Warnung.", $"There is no warning within {Number(km)} km."),
        1 => T($"Im Umkreis von {Number(km)} km gibt es 1 Warnung.", $"There is 1 warning within {Number(km)} km."),
        _ => T($"Im Umkreis von {Number(km)} km gibt es {n} Warnungen.", $"There are {n} warnings within {Number(km)} km."),
    };
    public string PlaceAt(double lat, double lon) => T($"Ort: {Number(lat, 4)}° N, {Number(lon, 4)}° O", $"Place: {Number(lat, 4)}° N, {Number(lon, 4)}° E");
    public string PlaceUnknown(string name) => T($"Den Ort „{name}“ kennen wir nicht. Bitte wählen Sie einen bekannten Ort oder geben Sie Koordinaten ein.", $"We do not know the place “{name}”. Please choose a known place or enter coordinates.");
    public string KnownPlaces => T("Bekannte Orte:", "Known places:");
    public string PlaceFeed => T("Warnungen für diesen Ort als Feed abonnieren (Atom)", "Subscribe to warnings for this place (Atom feed)");
    public string InvalidPlace => T(
        "Bitte prüfen Sie die Eingabe: Breitengrad von −90 bis 90, Längengrad von −180 bis 180, Umkreis von 0,1 bis 200 km.",
        "Please check your input: latitude from −90 to 90, longitude from −180 to 180, radius from 0.1 to 200 km.");

    public string NodesTitle => T("Standorte und Messknoten", "Sites and nodes");
    public string NoNodes => T("Noch hat sich kein Messknoten gemeldet.", "No sensor node has reported yet.");
    public string NodeCount(int n) => n == 1 ? T("1 Messknoten", "1 sensor node") : T($"{n} Messknoten", $"{n} sensor nodes");
    public string StateLabel => T("Zustand:", "State:");
    public string State(NodeState s) => s switch
    {
        NodeState.Online => T("in Betrieb", "online"),
        NodeState.Offline => T("abgeschaltet", "offline"),
        _ => T("Verbindung verloren", "connection lost"),
    };
    public string For(TimeSpan d) => T($"seit {Duration(d)}", $"for {Duration(d)}");
    public string Ago(TimeSpan d) => T($"vor {Duration(d)}", $"{Duration(d)} ago");
    public string SensorsLabel => T("Sensoren:", "Sensors:");
    public string Health(SensorHealth h) => h switch
    {
        SensorHealth.Ok => T("funktioniert", "working"),
        SensorHealth.Degraded => T("gestört", "degraded"),
        _ => T("ausgefallen", "failed"),
    };
    public string LastValues => T("Letzte Messwerte", "Latest values");
    public string NoValues => T("Noch keine Messwerte.", "No values yet.");
    public string Doubtful => T("zweifelhaft", "doubtful");
    public string Good => T("in Ordnung", "good");
    public string Flag(QualityFlags f) => f switch
    {
        QualityFlags.Gaps => T("Lücken in der Messung", "gaps in the readings"),
        QualityFlags.ReadErrors => T("Lesefehler", "read errors"),
        QualityFlags.OutOfRange => T("außerhalb des Messbereichs", "out of range"),
        QualityFlags.Stuck => T("Wert ändert sich nicht", "value not changing"),
        _ => T("veraltet", "stale"),
    };
    public string Details(string node) => T($"Verlauf und Details: {node}", $"History and details: {node}");
    public string Quantity(string q) => q switch
    {
        Quantities.Temperature => T("Temperatur", "Temperature"),
        Quantities.Humidity => T("Luftfeuchte", "Humidity"),
        Quantities.Pressure => T("Luftdruck", "Air pressure"),
        Quantities.GasResistance => T("Gaswiderstand", "Gas resistance"),
        Quantities.Co2 => T("CO₂", "CO₂"),
        Quantities.DewPoint => T("Taupunkt", "Dew point"),
        Quantities.AbsoluteHumidity => T("Absolute Feuchte", "Absolute humidity"),
        Quantities.HeatIndex => T("Gefühlte Temperatur (Hitzeindex)", "Heat index"),
        Quantities.SeaLevelPressure => T("Luftdruck auf Meereshöhe", "Sea-level pressure"),
        Quantities.PressureTendency3h => T("Luftdrucktendenz (3 h)", "Pressure tendency (3 h)"),
        Quantities.WaterLevel => T("Wasserstand", "Water level"),
        Quantities.Distance => T("Abstand", "Distance"),
        Quantities.Illuminance => T("Helligkeit", "Illuminance"),
        Quantities.Voltage => T("Spannung", "Voltage"),
        Quantities.Current => T("Strom", "Current"),
        Quantities.Power => T("Leistung", "Power"),
        _ => q,
    };

    public string NodeTitle(string node) => T($"Messknoten {node}", $"Sensor node {node}");
    public string SiteLabel => T("Standort:", "Site:");
    public string PositionLabel => T("Position:", "Position:");
    public string Last24h => T("Letzte 24 Stunden", "Last 24 hours");
    public string Summary(string min, string max, string last, string lastAge, string trend) => T(
        $"Letzte 24 Stunden: niedrigster Wert {min}, höchster Wert {max}. Zuletzt {last} ({lastAge}). Tendenz: {trend}.",
        $"Last 24 hours: lowest {min}, highest {max}. Latest {last} ({lastAge}). Trend: {trend}.");
    public string Trend(int direction) => direction switch
    {
        > 0 => T("steigend", "rising"),
        < 0 => T("fallend", "falling"),
        _ => T("gleichbleibend", "steady"),
    };
    public string PlotLabel(string quantity) => T($"Verlauf {quantity}, letzte 24 Stunden", $"{quantity}, last 24 hours");
    public string DoubtfulLegend(int n) => T($"◇ markiert zweifelhafte Werte ({n} im Verlauf).", $"◇ marks doubtful values ({n} in the plot).");
    public string ShowTable => T("Messwerte als Tabelle", "Values as a table");
    public string TableCaption(string quantity) => T($"{quantity}: Stundenwerte der letzten 24 Stunden", $"{quantity}: hourly values of the last 24 hours");
    public string ColumnTime => T("Stunde", "Hour");
    public string ColumnMean => T("Mittel", "Mean");
    public string ColumnRange => T("Tiefst–Höchst", "Low–high");
    public string ColumnQuality => T("Qualität", "Quality");
    public string NoHistory => T("Keine Messwerte in den letzten 24 Stunden.", "No values in the last 24 hours.");
    public string DatastreamLink(string quantity) => T($"Offene Daten zu {quantity} (SensorThings-Datastream)", $"Open data for {quantity} (SensorThings Datastream)");
    public string NotFound => T("Diese Seite gibt es nicht.", "This page does not exist.");
    public string BackToNodes => T("Zu allen Messknoten", "To all sensor nodes");

    public string HistoryTitle => T("Verlauf der Warnungen", "Alert history");
    public string HistoryIntro(int days) => T($"Alle öffentlichen Meldungen der letzten {days} Tage, die neueste zuerst.", $"All public messages of the last {days} days, newest first.");
    public string NoAlertHistory => T("In dieser Zeit gab es keine Warnung.", "There was no warning in this time.");
    public string MessageType(string msgType, string? headline) => msgType switch
    {
        "Alert" => T("Warnung", "Warning"),
        "Cancel" => T("Zurückgenommen", "Withdrawn"),
        _ when headline is not null && (headline.StartsWith("Entwarnung", StringComparison.Ordinal) || headline.StartsWith("All clear", StringComparison.Ordinal)) => T("Entwarnung", "All clear"),
        _ => T("Änderung", "Update"),
    };

    public string OperatorTitle => T("Betrieb", "Operations");
    public string OperatorIntro => T("Nur für das Betriebsteam. Diese Seite wird nicht zwischengespeichert.", "For the operations team only. This page is not cached.");
    public string OperatorAlerts => T("Aktive Meldungen", "Active alerts");
    public string NoOperatorAlerts => T("Keine aktive Meldung.", "No active alert.");
    public string Audience(string audience) => audience == "Operator" ? T("Betrieb", "operator") : T("öffentlich", "public");
    public string CancelHow => T("Zurücknehmen (mit curl, nicht im Browser):", "Withdraw (with curl, not in a browser):");
    public string NodeHealth => T("Zustand der Messknoten", "Node health");
    public string Failures(int n) => T($"{n} Fehler in Folge", $"{n} failures in a row");
    public string LastError => T("letzter Fehler:", "last error:");
    public string Outbox(long queued, long dropped, long corrupt) => T(
        $"Ausgang: {queued} wartend, {dropped} verworfen, {corrupt} beschädigt",
        $"Outbox: {queued} queued, {dropped} dropped, {corrupt} damaged");
    public string FirmwareLabel => T("Firmware:", "Firmware:");
    public string Rejected => T("Abgewiesene Nachrichten", "Rejected messages");
    public string RejectedIntro => T("Seit dem Start dieses Prozesses, nach Grund.", "Since this process started, by reason.");
    public string NoRejected => T("Keine.", "None.");
    public string OperatorDenied => T("Diese Seite braucht die Betriebs-Anmeldung.", "This page needs the operator credential.");

    public string Number(double v, int decimals = 1) => Math.Round(v, decimals).ToString("#,##0." + new string('#', decimals), Culture);

    public string Time(DateTimeOffset t) => t.ToLocalTime().ToString(_de ? "dd.MM.yyyy, HH:mm 'Uhr'" : "d MMM yyyy, HH:mm", Culture);

    public string Hour(DateTimeOffset t) => t.ToLocalTime().ToString("HH:mm", Culture);

    public string Duration(TimeSpan d)
    {
        d = d < TimeSpan.Zero ? TimeSpan.Zero : d;
        (long n, string one, string many) = d.TotalMinutes < 1 ? ((long)d.TotalSeconds, T("Sekunde", "second"), T("Sekunden", "seconds"))
            : d.TotalHours < 1 ? ((long)d.TotalMinutes, T("Minute", "minute"), T("Minuten", "minutes"))
            : d.TotalDays < 2 ? ((long)d.TotalHours, T("Stunde", "hour"), T("Stunden", "hours"))
            : ((long)d.TotalDays, T("Tag", "day"), T("Tagen", "days"));
        return $"{n.ToString(Culture)} {(n == 1 ? one : many)}";
    }

    /// <summary>A value with its unit as people write it: pressure in hPa, one or two decimals.</summary>
    public string Value(double v, string ucum) => ucum == Units.Pascal
        ? $"{Number(v / 100, 1)} hPa"
        : $"{Number(v, Math.Abs(v) < 10 ? 2 : 1)} {Unit(ucum)}".TrimEnd();

    /// <summary>A unit as people write it ("°C" for the UCUM code "Cel").</summary>
    public static string Unit(string ucum) => ucum switch
    {
        Units.Celsius => "°C",
        Units.RelativeHumidityPercent => "%",
        Units.GramPerCubicMetre => "g/m³",
        "Ohm" => "Ω",
        _ => ucum,
    };
}
