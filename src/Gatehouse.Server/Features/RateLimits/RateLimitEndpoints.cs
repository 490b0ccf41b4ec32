using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Tenancy;

namespace Gatehouse.Server.Features.RateLimits;

public static class RateLimitEndpoints
{
    public static IServiceCollection AddRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<RateLimitOptions>(configuration.GetSection(RateLimitOptions.Section));
        services.AddSingleton<PlatformRateLimits>();
        services.AddSingleton<IRequestGate>(sp => sp.GetRequiredService<PlatformRateLimits>());
        services.AddSingleton<IAnonymousRequestGate>(sp => sp.GetRequiredService<PlatformRateLimits>());
        services.AddSingleton<IOrgDataEraser, RateLimitOverrideOrgData>();
        return services;
    }

    public static IEndpointRouteBuilder MapRateLimits(this IEndpointRouteBuilder api)
    {
        api.MapPost("/ratelimit", StandaloneRateLimit.Handle).RequirePermission("ratelimit:use")
            .WithTags("Rate limits").WithName("RateLimit").WithSummary("Count one use against your own limit: namespace + identifier");
        var overrides = api.MapGroup("/orgs/{orgId}/ratelimit-overrides").WithTags("Rate limits");
        overrides.MapGet("", RateLimitOverrides.List).RequirePermission("ratelimit:read").WithName("ListRateLimitOverrides").WithSummary("List per-identifier overrides");
        overrides.MapPut("", RateLimitOverrides.Set).RequirePermission("ratelimit:write").WithName("SetRateLimitOverride").WithSummary("Create or replace the override of one identifier in a namespace");
        overrides.MapDelete("", RateLimitOverrides.Delete).RequirePermission("ratelimit:write").WithName("DeleteRateLimitOverride").WithSummary("Delete the override of one identifier (?namespace=&identifier=)");
        return api;
    }
}
