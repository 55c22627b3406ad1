using SensorKit.Node.Pipeline;
using UnitsNet;

namespace SensorKit.Tests.Pipeline;

/// <summary>Derived quantities against published reference values; each test names its source.</summary>
public sealed class MeteorologyTests
{
    private static double ToCelsius(double fahrenheit) => (fahrenheit - 32) * 5 / 9;

    private static double ToFahrenheit(double celsius) => (celsius * 9 / 5) + 32;

    /// <summary>
    /// NWS heat index chart (National Weather Service, "Heat Index" chart, www.weather.gov/safety/heat-index):
    /// air temperature °F in the first column, then the heat index °F at 40, 45, … 100 %RH.
    /// </summary>
    public static TheoryData<int, int[]> NwsChart() => new()
    {
        { 80, [80, 80, 81, 81, 82, 82, 83, 84, 84, 85, 86, 86, 87] },
        { 82, [81, 82, 83, 84, 84, 85, 86, 88, 89, 90, 91, 93, 95] },
        { 84, [83, 84, 85, 86, 88, 89, 90, 92, 94, 96, 98, 100, 103] },
        { 86, [85, 87, 88, 89, 91, 93, 95, 97, 100, 102, 105, 108, 112] },
        { 88, [88, 89, 91, 93, 95, 98, 100, 103, 106, 110, 113, 117, 121] },
        { 90, [91, 93, 95, 97, 100, 103, 106, 109, 113, 117, 122, 127, 132] },
        { 92, [94, 96, 99, 101, 105, 108, 112, 116, 121, 126, 131] },
        { 94, [97, 100, 103, 106, 110, 114, 119, 124, 129, 136] },
        { 96, [101, 104, 108, 112, 116, 121, 126, 132] },
        { 98, [105, 109, 113, 117, 123, 128, 134] },
        { 100, [109, 114, 118, 124, 129, 136] },
        { 102, [114, 119, 124, 130, 137] },
        { 104, [119, 124, 131, 137] },
        { 106, [124, 130, 137] },
        { 108, [130, 137] },
        { 110, [136] },
    };

    [Theory]
    [MemberData(nameof(NwsChart))]
    public void Heat_index_reproduces_the_NWS_chart(int fahrenheit, int[] row)
    {
        for (int i = 0; i < row.Length; i++)
        {
            int rh = 40 + (5 * i);
            double hi = ToFahrenheit(Meteorology.HeatIndex(ToCelsius(fahrenheit), rh));

            // The chart is Steadman's table rounded to whole degrees; Rothfusz (SR 90-23) gives the
            // regression's error against it as ±1.3 °F. Where RH > 85 % and T ≤ 87 °F the NWS adds its
            // high-humidity adjustment on top of the regression, which moves away from the printed
            // chart by up to 2.3 °F at 80 °F / 100 %RH; we follow the NWS procedure there.
            double tolerance = rh > 85 && fahrenheit <= 87 ? 2.3 : 1.3;
            Assert.True(Math.Abs(hi - row[i]) <= tolerance, $"{fahrenheit} °F, {rh} %RH: chart {row[i]} °F, computed {hi:F2} °F");
        }
    }

    [Fact]
    public void Heat_index_below_80F_is_the_simple_formula_and_regression_takes_over_at_80F()
    {
        // NWS WPC, "The Heat Index Equation": 0.5·(T + 61 + 1.2·(T − 68) + 0.094·RH) below 80 °F.
        Assert.Equal(0.5 * (70 + 61 + (1.2 * 2) + (0.094 * 50)), ToFahrenheit(Meteorology.HeatIndex(ToCelsius(70), 50)), 9);

        // The NWS chart at 90 °F / 50 %RH reads 95 °F; the regression lands within its rounding.
        Assert.Equal(95, ToFahrenheit(Meteorology.HeatIndex(ToCelsius(90), 50)), 0.5);
    }

    /// <summary>The Rothfusz regression as printed in NWS Technical Attachment SR 90-23 (1990), °F and %RH.</summary>
    private static double Rothfusz(double t, double rh) =>
        -42.379 + (2.04901523 * t) + (10.14333127 * rh) - (.22475541 * t * rh) - (.00683783 * t * t) - (.05481717 * rh * rh)
        + (.00122874 * t * t * rh) + (.00085282 * t * rh * rh) - (.00000199 * t * t * rh * rh);

    [Theory]
    [InlineData(95, 10, -0.75)]         // RH < 13 %, 80…112 °F: − ((13 − 10)/4)·√((17 − 0)/17)
    [InlineData(105, 5, -1.2833779)]    // − ((13 − 5)/4)·√((17 − 10)/17)
    [InlineData(85, 90, 0.2)]           // RH > 85 %, 80…87 °F: + ((90 − 85)/10)·((87 − 85)/5)
    [InlineData(90, 90, 0)]             // above 87 °F no high-humidity adjustment
    public void Heat_index_applies_the_NWS_adjustments(double fahrenheit, double rh, double adjustment)
    {
        // NWS WPC, "The Heat Index Equation": the adjustments added to the regression.
        Assert.Equal(Rothfusz(fahrenheit, rh) + adjustment, ToFahrenheit(Meteorology.HeatIndex(ToCelsius(fahrenheit), rh)), 6);
    }

    /// <summary>
    /// Saturation vapour pressure of water over a flat surface (CRC Handbook of Chemistry and Physics,
    /// "Vapor pressure of water from 0 to 370 °C"): 10 °C 1.2282 kPa, 20 °C 2.3393 kPa, 30 °C 4.2470 kPa.
    /// Air at T whose vapour pressure equals the saturation pressure at Td has its dew point at Td,
    /// so RH = e_s(Td)/e_s(T) gives a dew point test from the table alone.
    /// </summary>
    [Theory]
    [InlineData(20, 2.3393, 10, 1.2282)]
    [InlineData(30, 4.2470, 20, 2.3393)]
    [InlineData(30, 4.2470, 10, 1.2282)]
    [InlineData(20, 2.3393, 20, 2.3393)]
    public void Dew_point_matches_the_saturation_vapour_pressure_table(double celsius, double esAtT, double dewPoint, double esAtTd)
    {
        double rh = 100 * esAtTd / esAtT;

        // Magnus with the WMO constants is within 0.1 K of the table over 0…30 °C (WMO-No. 8, Annex 4.B).
        Assert.Equal(dewPoint, Meteorology.DewPoint(celsius, rh), 0.1);
    }

    [Fact]
    public void Dew_point_at_100_percent_is_the_air_temperature_and_dry_air_has_none()
    {
        Assert.Equal(-12.5, Meteorology.DewPoint(-12.5, 100), 12);
        Assert.True(double.IsNaN(Meteorology.DewPoint(20, 0)));
        Assert.Equal(Meteorology.DewPoint(25, 60), Meteorology.DewPoint(Temperature.FromDegreesCelsius(25), RelativeHumidity.FromPercent(60)).DegreesCelsius, 12);
    }

    /// <summary>
    /// Saturated water vapour density (CRC Handbook, "Properties of water vapour"; also the NOAA/NWS
    /// psychrometric tables): 10 °C 9.40 g/m³, 20 °C 17.30 g/m³, 30 °C 30.38 g/m³.
    /// </summary>
    [Theory]
    [InlineData(10, 9.40)]
    [InlineData(20, 17.30)]
    [InlineData(30, 30.38)]
    public void Absolute_humidity_at_saturation_matches_the_vapour_density_table(double celsius, double gramsPerCubicMetre)
    {
        // Magnus over-water is within 0.5 % of the table here; the ideal-gas step adds nothing measurable.
        Assert.Equal(gramsPerCubicMetre, Meteorology.AbsoluteHumidity(celsius, 100), gramsPerCubicMetre * 0.005);
        Assert.Equal(Meteorology.AbsoluteHumidity(celsius, 100) / 2, Meteorology.AbsoluteHumidity(celsius, 50), 12);
    }

    /// <summary>
    /// U.S. Standard Atmosphere 1976 (NOAA-S/T 76-1562), Table I, by geometric altitude:
    /// 500 m 95 461 Pa at 284.900 K, 1000 m 89 876 Pa at 281.651 K, 2000 m 79 501 Pa at 275.154 K.
    /// Reduced to sea level with the station temperature, each must give the standard 101 325 Pa.
    /// </summary>
    [Theory]
    [InlineData(500, 95_461, 284.900)]
    [InlineData(1000, 89_876, 281.651)]
    [InlineData(2000, 79_501, 275.154)]
    public void Sea_level_pressure_reduces_the_standard_atmosphere_to_101325_Pa(double altitude, double pascal, double kelvin)
    {
        // The table rounds pressure to 5 significant digits: ±0.5 Pa at the station, ±0.7 Pa at sea level.
        Assert.Equal(101_325, Meteorology.SeaLevelPressure(pascal, altitude, kelvin - 273.15), 0.7);
        Assert.Equal(kelvin - 273.15, Meteorology.StandardTemperature(altitude), 0.001);
    }

    [Fact]
    public void Sea_level_pressure_at_sea_level_is_the_station_pressure()
    {
        Assert.Equal(100_653.27, Meteorology.SeaLevelPressure(100_653.27, 0, 25.08), 9);
    }

    [Fact]
    public void Water_level_is_mounting_height_minus_distance()
    {
        Assert.Equal(1.25, Meteorology.WaterLevel(3.5, 2.25), 12);
        Assert.Equal(-0.5, Meteorology.WaterLevel(Length.FromMeters(3), Length.FromMeters(3.5)).Meters, 12);
    }
}
