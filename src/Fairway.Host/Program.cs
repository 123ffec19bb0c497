return await Fairway.Host.FairwayHost.RunAsync(args);
