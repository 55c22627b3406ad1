using SensorKit.Node;
using SensorKit.Node.Scanning;
using SensorKit.Simulation;

if (ScanCommand.IsScan(args))
{
    return await ScanCommand.RunAsync(args, b => b.Services.AddSensorKitSimulation(), Console.Out, Console.Error);
}

var builder = NodeHost.CreateBuilder(args);
builder.Services.AddSensorKitSimulation();
return await NodeHost.RunAsync(builder.Build(), Console.Error);
