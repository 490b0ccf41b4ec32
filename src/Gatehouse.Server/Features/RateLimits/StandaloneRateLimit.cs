using System.Text.RegularExpressions;
using Gatehouse.Contracts.RateLimits;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.RateLimits;

public static partial class StandaloneRateLimit
{
    public const long MaxDurationMs = 30L * 24 * 3600 * 1000;

    public static async Task<Results<ApiOk<RateLimitResponse>, ApiError>> Handle(
        RateLimitRequest request, HttpContext httpContext, GatehouseDb db, RateLimiter limiter, OrgDirectory orgs, CancellationToken cancellationToken)
    {
        var validation = Validate(request.Namespace, request.Identifier, request.Limit, request.DurationMs);
        if (request.Cost is < 0 or > 1_000_000_000)
        {
            validation.Add("cost", "must be an integer from 0 to 1000000000");
        }

        var principal = httpContext.RequirePrincipal();
        var orgId = principal.IsRoot ? request.OrgId : principal.OrgId;
        if (principal.IsRoot && string.IsNullOrEmpty(orgId))
        {
            validation.Add("orgId", "required for the root key");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        if (!await orgs.ExistsAsync(orgId!, cancellationToken))
        {
            return ApiError.NotFound("organization");
        }

        var limit = request.Limit!.Value;
        var durationMs = request.DurationMs!.Value;
        var custom = await db.Owned<RateLimitOverride>(orgId!).AsNoTracking()
            .FirstOrDefaultAsync(o => o.Namespace == request.Namespace && o.Identifier == request.Identifier, cancellationToken);
        if (custom is not null)
        {
            limit = custom.Limit;
            durationMs = custom.DurationMs;
        }

        var subject = $"org:{orgId}:ns:{request.Namespace}:id:{request.Identifier}";
        var rule = new RateLimitRule(request.Namespace!, limit, TimeSpan.FromMilliseconds(durationMs));
        var decision = await limiter.TryConsumeAsync(subject, [rule], request.Cost ?? 1, cancellationToken);
        var window = decision.Windows[0];
        return new ApiOk<RateLimitResponse>(new RateLimitResponse(decision.Allowed, limit, window.Remaining, window.ResetAt));
    }

    internal static Validation Validate(string? ns, string? identifier, long? limit, long? durationMs)
    {
        var validation = new Validation().Required("namespace", ns, 64).Required("identifier", identifier, 256);
        if (!string.IsNullOrEmpty(ns) && ns.Length <= 64 && !NamespacePattern().IsMatch(ns))
        {
            validation.Add("namespace", "must match [a-zA-Z0-9_.:-]{1,64}");
        }

        if (limit is null)
        {
            validation.Add("limit", "required");
        }
        else if (limit is < 1 or > 1_000_000_000)
        {
            validation.Add("limit", "must be an integer from 1 to 1000000000");
        }

        if (durationMs is null)
        {
            validation.Add("durationMs", "required");
        }
        else if (durationMs is < 1000 or > MaxDurationMs)
        {
            validation.Add("durationMs", $"must be from 1000 to {MaxDurationMs}");
        }

        return validation;
    }

    [GeneratedRegex("^[a-zA-Z0-9_.:-]{1,64}$")]
    private static partial Regex NamespacePattern();
}
