using Fairway.Cli;

return await CliRoot.Build().Parse(args).InvokeAsync();
