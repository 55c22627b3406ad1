using SensorKit.Demo;

return await DemoRunner.RunAsync(args, Console.Out, Console.Error);
