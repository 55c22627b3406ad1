using SensorKit.Gateway;
using SensorKit.Gateway.Broker.Accounts;

if (AccountsCommand.Handles(args))
{
    return await AccountsCommand.RunAsync(args, AccountsCommand.DefaultConfiguration(), Console.Out, Console.Error);
}

var builder = GatewayHost.CreateBuilder(args);
return await GatewayHost.RunAsync(builder.Build(), Console.Error);
