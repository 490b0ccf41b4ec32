using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.RateLimits;

/// <summary>What happens to rate-limit overrides.</summary>
public static class RateLimitActions
{
    public static readonly AuditAction SetOverride = new("ratelimit_override.set", "ratelimit_override", new WebhookEvent("ratelimit_override.set", "A rate-limit override was created or replaced.", "ratelimit:read"));
    public static readonly AuditAction DeleteOverride = new("ratelimit_override.delete", "ratelimit_override", new WebhookEvent("ratelimit_override.deleted", "A rate-limit override was removed.", "ratelimit:read"));
}

/// <summary>
/// The platform's request policies (per credential, per organization for verify, per IP before
/// authentication), the standalone limiter, and per-identifier overrides.
/// </summary>
public sealed class RateLimitsFeature : Feature
{
    public override string Name => "RateLimits";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("Rate limits", "The standalone limiter and per-identifier overrides.")];

    public override IReadOnlyList<PermissionInfo> Permissions =>
    [
        new("ratelimit:use", "Use the standalone rate limiter."),
        new("ratelimit:read", "Read rate-limit overrides."),
        new("ratelimit:write", "Set and delete rate-limit overrides."),
    ];

    public override IReadOnlyList<AuditAction> AuditActions => [RateLimitActions.SetOverride, RateLimitActions.DeleteOverride];

    public override void AddServices(FeatureServices services)
    {
        services.Options<RateLimitOptions>(Name);
        services.Services.AddSingleton<PlatformRateLimits>();
        services.Services.AddSingleton<IRequestGate>(sp => sp.GetRequiredService<PlatformRateLimits>());
        services.Services.AddSingleton<IAnonymousRequestGate>(sp => sp.GetRequiredService<PlatformRateLimits>());
        services.OrgData<RateLimitOverrideOrgData>();
    }

    public override void MapRoutes(FeatureRoutes routes)
    {
        var api = routes.Api;
        api.MapPost("/ratelimit", StandaloneRateLimit.Handle).RequirePermission("ratelimit:use")
            .WithTags("Rate limits").WithName("RateLimit").WithSummary("Count one use against your own limit: namespace + identifier");
        var overrides = api.MapGroup("/orgs/{orgId}/ratelimit-overrides").WithTags("Rate limits");
        overrides.MapGet("", RateLimitOverrides.List).RequirePermission("ratelimit:read").WithName("ListRateLimitOverrides").WithSummary("List per-identifier overrides");
        overrides.MapPut("", RateLimitOverrides.Set).RequirePermission("ratelimit:write").WithName("SetRateLimitOverride").WithSummary("Create or replace the override of one identifier in a namespace");
        overrides.MapDelete("", RateLimitOverrides.Delete).RequirePermission("ratelimit:write").WithName("DeleteRateLimitOverride").WithSummary("Delete the override of one identifier (?namespace=&identifier=)");
    }
}
