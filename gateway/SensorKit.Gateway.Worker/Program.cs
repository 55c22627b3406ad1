using SensorKit.Gateway;

var builder = GatewayHost.CreateBuilder(args);
return await GatewayHost.RunAsync(builder.Build(), Console.Error);
