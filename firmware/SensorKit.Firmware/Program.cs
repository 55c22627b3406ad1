using SensorKit.Node;
using SensorKit.Simulation;

var builder = NodeHost.CreateBuilder(args);
builder.Services.AddSensorKitSimulation();
return await NodeHost.RunAsync(builder.Build(), Console.Error);
