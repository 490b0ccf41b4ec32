using Gatehouse.Examples.AspNetCoreApi;

// Gatehouse__BaseUrl and Gatehouse__Key (a key with api_keys:verify) come from the environment.
ExampleApi.Build(args).Run();
