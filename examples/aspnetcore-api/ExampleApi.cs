using System.Security.Claims;
using Gatehouse.Client.AspNetCore;

namespace Gatehouse.Examples.AspNetCoreApi;

/// <summary>The example's whole composition, callable from a test with its own configuration.</summary>
public static class ExampleApi
{
    private static readonly string[] Deployments = ["api@1.4.2", "web@2.0.0"];

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        // The integration: one scheme that verifies the caller's key with Gatehouse.
        builder.Services.AddAuthentication(GatehouseApiKeyDefaults.AuthenticationScheme).AddGatehouseApiKey(o =>
        {
            o.BaseUrl = builder.Configuration["Gatehouse:BaseUrl"] ?? "http://127.0.0.1:5080";
            o.RootOrOrgKey = builder.Configuration["Gatehouse:Key"] ?? "";
            o.FailOpen = builder.Configuration.GetValue("Gatehouse:FailOpen", false);
        });

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapGet("/", () => Results.Ok(new { service = "deployments", status = "up" }));

        app.MapGet("/deployments", (ClaimsPrincipal user) => Results.Ok(new
        {
            keyId = user.FindFirstValue(GatehouseClaimTypes.KeyId),
            orgId = user.FindFirstValue(GatehouseClaimTypes.OrgId),
            deployments = Deployments,
        })).RequireGatehousePermissions("deploy:read");

        app.MapPost("/deployments/prod", (ClaimsPrincipal user) => Results.Ok(new
        {
            deployedBy = user.FindFirstValue(GatehouseClaimTypes.KeyId),
            environment = "prod",
        })).RequireGatehousePermissions("deploy:write AND (env:prod OR env:*)");

        return app;
    }
}
