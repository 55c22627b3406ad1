using UnitsNet;

namespace SensorKit.Node.Pipeline;

/// <summary>
/// Derived meteorological quantities, each with its formula and source (docs/derived-quantities.md).
/// The double overloads take and return wire units (°C, %RH, Pa, m) and are what the pipeline calls
/// per sample; the UnitsNet overloads are the same formulas for callers that hold quantities.
/// </summary>
/// <remarks>
/// Iot.Device.Common.WeatherHelper (Iot.Device.Bindings 4.2.0) has similar helpers, but its heat index
/// averages the simple formula with the temperature a second time before the 80 °F test, unlike the
/// NWS procedure, and its dew point mixes the Sonntag (1982) vapour pressure with Buck's constants.
/// Here every formula follows one named source.
/// </remarks>
public static class Meteorology
{
    /// <summary>Magnus coefficients over water, WMO-No. 8 (2018), Vol. I, Annex 4.B, after Sonntag (1990); valid −45…60 °C.</summary>
    public const double MagnusE0Pascal = 611.2;
    public const double MagnusA = 17.62;
    public const double MagnusBCelsius = 243.12;

    /// <summary>Specific gas constant of water vapour R/M_w, J/(kg·K) (8.314462 / 0.018015).</summary>
    public const double WaterVapourGasConstant = 461.52;

    /// <summary>US Standard Atmosphere 1976 (NOAA-S/T 76-1562), §1.2: g0, M0, R*, and the tropospheric lapse rate.</summary>
    public const double StandardGravity = 9.80665;
    public const double AirMolarMass = 0.0289644;
    public const double GasConstant = 8.31432;
    public const double LapseRate = 0.0065;
    public const double SeaLevelStandardCelsius = 15;

    /// <summary>Effective earth radius for geopotential height, US Standard Atmosphere 1976, eq. 18.</summary>
    public const double EarthRadius = 6_356_766;

    private const double Kelvin = 273.15;

    // g0·M0/(R*·L) = 5.255877: the exponent of the barometric formula in the troposphere (US Std. Atm. 1976, eq. 33a).
    private const double BarometricExponent = StandardGravity * AirMolarMass / (GasConstant * LapseRate);

    /// <summary>Saturation vapour pressure over water in Pa: e_w(t) = 611.2·exp(17.62·t / (243.12 + t)).</summary>
    public static double SaturationVapourPressure(double celsius) =>
        MagnusE0Pascal * Math.Exp(MagnusA * celsius / (MagnusBCelsius + celsius));

    /// <summary>
    /// Dew point in °C by inverting the Magnus formula: γ = ln(RH/100) + a·t/(b + t), t_d = b·γ/(a − γ),
    /// with the WMO constants above. NaN when RH is not above 0 (there is no dew point for dry air).
    /// </summary>
    public static double DewPoint(double celsius, double relativeHumidityPercent)
    {
        if (!(relativeHumidityPercent > 0))
        {
            return double.NaN;
        }

        double gamma = Math.Log(relativeHumidityPercent / 100) + (MagnusA * celsius / (MagnusBCelsius + celsius));
        return MagnusBCelsius * gamma / (MagnusA - gamma);
    }

    /// <summary>
    /// Absolute humidity (water vapour density) in g/m³ from the ideal gas law for the vapour:
    /// ρ_v = e / (R_v·T), with e = RH/100 · e_w(t) (WMO-No. 8, Annex 4.B) and T in kelvin.
    /// </summary>
    public static double AbsoluteHumidity(double celsius, double relativeHumidityPercent)
    {
        double vapourPressure = relativeHumidityPercent / 100 * SaturationVapourPressure(celsius);
        return vapourPressure / (WaterVapourGasConstant * (celsius + Kelvin)) * 1000;
    }

    /// <summary>
    /// Heat index in °C following the US National Weather Service procedure (NWS Weather Prediction Center,
    /// "The Heat Index Equation"; regression from Rothfusz, NWS Technical Attachment SR 90-23, 1990),
    /// computed in °F:
    /// <list type="number">
    /// <item>HI = 0.5·(T + 61 + 1.2·(T − 68) + 0.094·RH), Steadman's simple formula averaged with T.</item>
    /// <item>If that is 80 °F or more, the Rothfusz regression replaces it, then
    /// minus ((13 − RH)/4)·√((17 − |T − 95|)/17) when RH &lt; 13 % and 80 ≤ T ≤ 112 °F, or
    /// plus ((RH − 85)/10)·((87 − T)/5) when RH &gt; 85 % and 80 ≤ T ≤ 87 °F.</item>
    /// </list>
    /// The regression's stated error is ±1.3 °F against Steadman's table.
    /// </summary>
    public static double HeatIndex(double celsius, double relativeHumidityPercent)
    {
        double t = (celsius * 9 / 5) + 32;
        double rh = relativeHumidityPercent;
        double hi = 0.5 * (t + 61 + ((t - 68) * 1.2) + (rh * 0.094));
        if (hi >= 80)
        {
            hi = -42.379
                + (2.04901523 * t)
                + (10.14333127 * rh)
                - (0.22475541 * t * rh)
                - (6.83783e-3 * t * t)
                - (5.481717e-2 * rh * rh)
                + (1.22874e-3 * t * t * rh)
                + (8.5282e-4 * t * rh * rh)
                - (1.99e-6 * t * t * rh * rh);
            if (rh < 13 && t >= 80 && t <= 112)
            {
                hi -= (13 - rh) / 4 * Math.Sqrt((17 - Math.Abs(t - 95)) / 17);
            }
            else if (rh > 85 && t >= 80 && t <= 87)
            {
                hi += (rh - 85) / 10 * ((87 - t) / 5);
            }
        }

        return (hi - 32) * 5 / 9;
    }

    /// <summary>
    /// Sea-level pressure in Pa from station pressure, station altitude (m above mean sea level) and
    /// station air temperature: the tropospheric barometric formula of the US Standard Atmosphere 1976
    /// (eq. 33a) solved for the base pressure, with the air column's temperature extrapolated down
    /// from the station at the standard lapse rate:
    /// p0 = p · (1 + L·H / T)^(g0·M0 / (R*·L)), T in kelvin, H the geopotential height of the station
    /// (eq. 18: H = r0·z / (r0 + z), 0.6 m less than z at 2000 m).
    /// </summary>
    public static double SeaLevelPressure(double stationPascal, double altitudeMetres, double stationCelsius) =>
        stationPascal * Math.Pow(1 + (LapseRate * GeopotentialHeight(altitudeMetres) / (stationCelsius + Kelvin)), BarometricExponent);

    /// <summary>Standard-atmosphere temperature at an altitude, for a station without a thermometer: 15 °C − L·H.</summary>
    public static double StandardTemperature(double altitudeMetres) => SeaLevelStandardCelsius - (LapseRate * GeopotentialHeight(altitudeMetres));

    /// <summary>Geopotential height of a geometric altitude (US Standard Atmosphere 1976, eq. 18).</summary>
    public static double GeopotentialHeight(double altitudeMetres) => EarthRadius * altitudeMetres / (EarthRadius + altitudeMetres);

    /// <summary>Water level above the gauge datum: mounting height of a downward-looking distance sensor minus the distance to the water.</summary>
    public static double WaterLevel(double mountingHeightMetres, double distanceMetres) => mountingHeightMetres - distanceMetres;

    public static Temperature DewPoint(Temperature air, RelativeHumidity humidity) =>
        Temperature.FromDegreesCelsius(DewPoint(air.DegreesCelsius, humidity.Percent));

    public static Density AbsoluteHumidity(Temperature air, RelativeHumidity humidity) =>
        Density.FromGramsPerCubicMeter(AbsoluteHumidity(air.DegreesCelsius, humidity.Percent));

    public static Temperature HeatIndex(Temperature air, RelativeHumidity humidity) =>
        Temperature.FromDegreesCelsius(HeatIndex(air.DegreesCelsius, humidity.Percent));

    public static Pressure SeaLevelPressure(Pressure station, Length altitude, Temperature air) =>
        Pressure.FromPascals(SeaLevelPressure(station.Pascals, altitude.Meters, air.DegreesCelsius));

    public static Length WaterLevel(Length mountingHeight, Length distance) =>
        Length.FromMeters(WaterLevel(mountingHeight.Meters, distance.Meters));
}
