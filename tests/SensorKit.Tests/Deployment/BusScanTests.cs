using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using SensorKit.Node.Configuration;
using SensorKit.Node.Scanning;
using SensorKit.Node.Sensors;
using SensorKit.Node.Sensors.Sensirion;
using SensorKit.Simulation;
using SensorKit.Simulation.Emulators;
using SensorKit.Simulation.Emulators.Bme280;
using SensorKit.Tests.Support;

namespace SensorKit.Tests.Deployment;

/// <summary><c>sensorkit-node scan</c> on the emulated bus: what answers, chip ids, and the comparison with the configuration.</summary>
public sealed class BusScanTests
{
    private static readonly SensorOptions Bme280At76 = new() { Id = "air", Type = "bme280", Bus = 1, Address = "0x76" };

    private static Task<ScanReport> ScanAsync(SimulatedI2cBus bus, params SensorOptions[] configured) =>
        new BusScanner(bus, TimeProvider.System).ScanAsync([1], configured, TestContext.Current.CancellationToken);

    [Fact]
    public async Task A_configured_bme280_is_found_by_its_chip_id_and_left_as_it_was()
    {
        var bus = new SimulatedI2cBus();
        var chip = new Bme280Emulator(0x76);
        bus.Attach(1, chip);

        ScanReport report = await ScanAsync(bus, Bme280At76);

        FoundDevice device = Assert.Single(Assert.Single(report.Buses).Devices);
        Assert.Equal(0x76, device.Address);
        Assert.Equal("bme280", device.Identity?.Chip);
        Assert.Contains("chip id 0x60", device.Description, StringComparison.Ordinal);
        ConfiguredSensorCheck check = Assert.Single(report.Sensors);
        Assert.Equal(ConfiguredSensorState.Ok, check.State);
        Assert.True(report.ConfiguredSensorsAnswer);
        Assert.Empty(report.Unexpected);

        // Read-only: no measurement was started.
        Assert.Equal(0, chip.Measurements);
    }

    [Fact]
    public async Task An_empty_bus_reports_the_configured_sensor_missing()
    {
        ScanReport report = await ScanAsync(new SimulatedI2cBus(), Bme280At76);

        Assert.Empty(report.Buses[0].Devices);
        ConfiguredSensorCheck check = Assert.Single(report.Sensors);
        Assert.Equal(ConfiguredSensorState.Missing, check.State);
        Assert.Contains("nothing answers at 0x76", check.Message, StringComparison.Ordinal);
        Assert.False(report.ConfiguredSensorsAnswer);
    }

    [Fact]
    public async Task A_sensor_strapped_to_its_other_address_is_reported_as_wrong_address()
    {
        var bus = new SimulatedI2cBus();
        bus.Attach(1, new Bme280Emulator(0x77));

        ScanReport report = await ScanAsync(bus, Bme280At76);

        ConfiguredSensorCheck check = Assert.Single(report.Sensors);
        Assert.Equal(ConfiguredSensorState.WrongAddress, check.State);
        Assert.Contains("answers at 0x77", check.Message, StringComparison.Ordinal);
        Assert.False(report.ConfiguredSensorsAnswer);
    }

    [Theory]
    [InlineData(0x61, "a bme680 answers at 0x76")]
    [InlineData(0x58, "a bmp280 answers at 0x76")]
    [InlineData(0x00, "chip id 0x00 at 0xD0: not a Bosch")]
    public async Task Another_chip_at_the_configured_address_is_reported_as_wrong_chip(byte chipId, string expected)
    {
        var bus = new SimulatedI2cBus();
        bus.Attach(1, new RegisterChip(0x76, chipId));

        ScanReport report = await ScanAsync(bus, Bme280At76);

        ConfiguredSensorCheck check = Assert.Single(report.Sensors);
        Assert.Equal(ConfiguredSensorState.WrongChip, check.State);
        Assert.Contains(expected, check.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Devices_nobody_configured_are_listed_as_unexpected_with_their_candidates()
    {
        var bus = new SimulatedI2cBus();
        bus.Attach(1, new Bme280Emulator(0x76));
        bus.Attach(1, new RegisterChip(0x48, 0x00));
        bus.Attach(1, new RegisterChip(0x77, 0x61));

        ScanReport report = await ScanAsync(bus, Bme280At76);

        Assert.True(report.ConfiguredSensorsAnswer);
        var unexpected = report.Unexpected.Select(u => u.Device).ToArray();
        Assert.Equal([0x48, 0x77], unexpected.Select(d => d.Address));
        Assert.Contains("ads1115", unexpected[0].Description, StringComparison.Ordinal);
        Assert.Contains("ina219", unexpected[0].Description, StringComparison.Ordinal);
        Assert.Equal("bme680", unexpected[1].Identity?.Chip);
    }

    [Fact]
    public async Task A_sensirion_chip_that_ignores_bare_reads_is_found_by_its_serial_number_command()
    {
        var bus = new SimulatedI2cBus();
        var sht = new Sht4xLike(0x44);
        bus.Attach(1, sht);

        ScanReport report = await ScanAsync(bus);

        FoundDevice device = Assert.Single(report.Buses[0].Devices);
        Assert.Equal("sht4x", device.Identity?.Chip);
        Assert.Contains("serial number 0x12345678", device.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_crc_failure_in_the_identity_reply_is_reported_not_hidden()
    {
        var bus = new SimulatedI2cBus();
        bus.Attach(1, new Sht4xLike(0x44) { Faults = ChipFault.CorruptCrc });

        ScanReport report = await ScanAsync(bus);

        FoundDevice device = Assert.Single(report.Buses[0].Devices);
        Assert.Null(device.Identity?.Chip);
        Assert.True(device.Identity?.ReadFailed);
        Assert.Contains("CRC", device.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Sensirion_crc_matches_the_datasheet_example()
    {
        // SHT3x-DIS datasheet §4.12 Table 19: CRC of 0xBEEF is 0x92.
        Assert.Equal(0x92, SensirionCrc.Compute([0xBE, 0xEF]));
        Assert.True(SensirionCrc.Check([0xBE, 0xEF, 0x92]));
        Assert.False(SensirionCrc.Check([0xBE, 0xEF, 0x93]));
    }

    [Fact]
    public async Task The_command_scans_the_simulated_bus_of_the_configuration_and_exits_zero()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        int exit = await ScanCommand.RunAsync(
            ["scan", "--bus", "1", .. NodeArgs(), "--Simulation:Enabled", "true"],
            b => b.Services.AddSensorKitSimulation(),
            output,
            error,
            TestContext.Current.CancellationToken);

        Assert.True(exit == ScanCommand.ExitOk, error.ToString());
        Assert.Contains("I2C bus 1 (simulated", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("0x76  bme280 (chip id 0x60 at 0xD0)  [sensor 'air']", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("All configured sensors answer.", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_exits_one_when_a_configured_sensor_is_missing()
    {
        var bus = new SimulatedI2cBus();
        bus.Attach(1, new Bme280Emulator(0x77));
        var output = new StringWriter();

        int exit = await ScanCommand.RunAsync(
            ["scan", .. NodeArgs(), "--Simulation:Enabled", "true"],
            b =>
            {
                b.Services.AddSensorKitSimulation();
                b.Services.RemoveAll<II2cBusProvider>();
                b.Services.AddSingleton<II2cBusProvider>(bus);
            },
            output,
            new StringWriter(),
            TestContext.Current.CancellationToken);

        Assert.Equal(ScanCommand.ExitSensorProblem, exit);
        Assert.Contains("WRONG ADDRESS", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("1 configured sensor(s) do not answer as configured.", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "scan", "--bus" }, "--bus needs a bus number")]
    [InlineData(new[] { "scan", "--bus", "one" }, "--bus needs a bus number")]
    [InlineData(new[] { "scan", "--Node:Sensors:0:Address", "0x78" }, "Node:Sensors:0:Address: 0x78 is outside")]
    [InlineData(new[] { "scan", "--Mqtt:Broker", "mqtt://192.0.2.1:1883" }, "Mqtt:Username: the broker mqtt://192.0.2.1:1883 is not on this machine")]
    [InlineData(new[] { "scan", "--Node:Sensors:0:Adress", "0x77" }, "invalid configuration: Node:Sensors:0:Adress: unknown key")]
    [InlineData(new[] { "scan", "--Outbox:Directroy", "outbox" }, "invalid configuration: Outbox:Directroy: unknown key")]
    public async Task Bad_arguments_and_invalid_configuration_exit_two_naming_the_problem(string[] args, string expected)
    {
        var error = new StringWriter();

        int exit = await ScanCommand.RunAsync(
            ["scan", .. NodeArgs(), "--Simulation:Enabled", "true", .. args.Skip(1)],
            b => b.Services.AddSensorKitSimulation(),
            new StringWriter(),
            error,
            TestContext.Current.CancellationToken);

        Assert.Equal(ScanCommand.ExitInvalid, exit);
        Assert.Contains(expected, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_hardware_a_missing_bus_device_says_how_to_enable_i2c()
    {
        var error = new StringWriter();

        // Bus 99 exists on no machine, so the hardware path stops before touching anything.
        int exit = await ScanCommand.RunAsync(
            ["scan", "--bus", "99", .. NodeArgs()],
            b => b.Services.AddSensorKitSimulation(),
            new StringWriter(),
            error,
            TestContext.Current.CancellationToken);

        Assert.Equal(ScanCommand.ExitBusUnavailable, exit);
        Assert.Contains("/dev/i2c-99 is missing", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A valid node; arguments after these override them, as on the service's command line.</summary>
    private static string[] NodeArgs() =>
    [
        "--Node:Id", "scan-test",
        "--Node:Site", "test",
        "--Node:Sensors:0:Id", "air",
        "--Node:Sensors:0:Type", "bme280",
        "--Node:Sensors:0:Address", "0x76",
        "--Mqtt:Broker", "mqtt://127.0.0.1:1883",
    ];

    /// <summary>A register-based chip that reports <c>chipId</c> at 0xD0 and zero elsewhere.</summary>
    private sealed class RegisterChip(int address, byte chipId) : ChipEmulator(address)
    {
        private byte _pointer;

        public override IReadOnlyList<string> Quantities => [];

        protected internal override void OnWrite(ReadOnlySpan<byte> data) => _pointer = data[0];

        protected internal override void OnRead(Span<byte> buffer)
        {
            for (int i = 0; i < buffer.Length; i++, _pointer++)
            {
                buffer[i] = _pointer == 0xD0 ? chipId : (byte)0;
            }
        }

        protected override void PowerOnReset() => _pointer = 0;
    }

    /// <summary>Answers like an SHT4x: NACKs a read with no command before it, serial number 0x12345678 after 0x89.</summary>
    private sealed class Sht4xLike(int address) : ChipEmulator(address)
    {
        private byte[]? _pending;

        public override IReadOnlyList<string> Quantities => [];

        protected internal override void OnWrite(ReadOnlySpan<byte> data)
        {
            _pending = data is [0x89] ? [0x12, 0x34, 0, 0x56, 0x78, 0] : null;
            if (_pending is not null)
            {
                _pending[2] = SensirionCrc.Compute(_pending.AsSpan(0, 2));
                _pending[5] = SensirionCrc.Compute(_pending.AsSpan(3, 2));
                if ((ActiveFaults & ChipFault.CorruptCrc) != 0)
                {
                    _pending[5] ^= 0xFF;
                }
            }
        }

        protected internal override void OnRead(Span<byte> buffer)
        {
            byte[] reply = _pending ?? throw new IOException(string.Create(CultureInfo.InvariantCulture, $"0x{Address:x2}: read header not acknowledged, no command pending"));
            _pending = null;
            reply.AsSpan(0, buffer.Length).CopyTo(buffer);
        }

        protected override void PowerOnReset() => _pending = null;
    }
}
