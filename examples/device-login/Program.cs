using Gatehouse.Examples.DeviceLogin;

// Gatehouse__BaseUrl, Gatehouse__Key (devices:read and devices:write), Gatehouse__OrgId and
// Gatehouse__AppId come from the environment; see README.md.
DeviceLoginApp.Build(args).Run();
