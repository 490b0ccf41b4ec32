using System.Net;
using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Platform.Auth;

/// <summary>
/// What a credential or role can do on this platform, and the restrictions that bind its use.
/// <see cref="Permissions"/> are effective: a key's own and those of its roles.
/// </summary>
public sealed record Grant(IReadOnlyCollection<string> Permissions)
{
    public DateTime? ExpiresAt { get; init; }
    public IReadOnlyList<IPNetwork> IpAllowlist { get; init; } = [];
    public bool Enabled { get; init; } = true;

    /// <summary>Usage credits; null is unlimited.</summary>
    public long? Remaining { get; init; }

    /// <summary>A credit refill schedule, compared by value: any new schedule adds credits.</summary>
    public object? Refill { get; init; }

    /// <summary>Named rate limits: (name, requests, window in ms).</summary>
    public IReadOnlyList<(string Name, long Limit, long DurationMs)> RateLimits { get; init; } = [];

    public bool GrantsPlatformPermission => PermissionCatalog.All.Any(p => Permission.Grants(Permissions, p.Name));
}

/// <summary>
/// The one escalation rule of the platform: a principal never obtains, through any route, a
/// credential or an effect beyond what it already holds. Every route that creates, changes,
/// rotates, restricts or revokes a credential or a role asks here, and its endpoint carries
/// <see cref="EscalationGuardMetadata"/> so a handler that forgets to ask fails loudly instead of
/// succeeding (see <see cref="GuardsEscalation"/>).
/// <list type="number">
/// <item>Touching a credential or role (create, update, rotate, disable, revoke, delete) needs every
/// platform permission it grants before and after the change.</item>
/// <item>A credential handed to the caller (create, rotate) that can call this API is no less
/// restricted than the caller itself: it expires no later and is usable from no wider network.</item>
/// <item>A key never loosens its own restrictions (allowlist, expiry, credits, refill, rate limits).</item>
/// </list>
/// Custom permissions (the organization's own, checked through verify) are not platform powers and
/// are free to grant. The root key holds everything.
/// </summary>
public static class Escalation
{
    private const string CheckedItem = "gatehouse.escalation-checked";

    /// <summary>Marks a route that changes credentials or roles: its handler must call this class.</summary>
    public static TBuilder GuardsEscalation<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(EscalationGuardMetadata.Instance);
        builder.AddEndpointFilter(async (context, next) =>
        {
            var result = await next(context);
            if (!context.HttpContext.Items.ContainsKey(CheckedItem) && IsSuccess(result))
            {
                // A programming error, not a caller's: refuse to hand out the effect unchecked.
                throw new InvalidOperationException($"{context.HttpContext.GetEndpoint()?.DisplayName} succeeded without the escalation check.");
            }

            return result;
        });
        return builder;
    }

    /// <summary>
    /// A change of a credential or role from <paramref name="before"/> (null: it is new) to
    /// <paramref name="after"/> (null: it is revoked or deleted). <paramref name="targetCredentialId"/>
    /// names the credential when it may be the caller's own; <paramref name="issuesSecret"/> is true
    /// when the response hands the caller the credential's secret.
    /// </summary>
    public static ApiError? Authorize(HttpContext httpContext, Grant? before, Grant? after, string? targetCredentialId = null, bool issuesSecret = false)
    {
        httpContext.Items[CheckedItem] = true;
        var caller = httpContext.RequirePrincipal();
        if (caller.IsRoot)
        {
            return null;
        }

        if ((MissingPlatformPermission(caller, before?.Permissions) ?? MissingPlatformPermission(caller, after?.Permissions)) is { } missing)
        {
            return ApiError.Forbidden(missing);
        }

        if (issuesSecret && after is not null && caller.Restrictions is { } own && after.GrantsPlatformPermission)
        {
            if (own.ExpiresAt is { } callerExpiry && (after.ExpiresAt is not { } issuedExpiry || Later(issuedExpiry, callerExpiry)))
            {
                return Refused("expiresAt", "A key that can call this API cannot outlive the API key that issues it.");
            }

            if (own.IpAllowlist.Count > 0 && (after.IpAllowlist.Count == 0 || !after.IpAllowlist.All(range => Within(range, own.IpAllowlist))))
            {
                return Refused("ipAllowlist", "A key that can call this API must be limited to networks inside the issuing API key's allowlist.");
            }
        }

        if (before is not null && after is not null && targetCredentialId is not null
            && string.Equals(targetCredentialId, caller.CredentialId, StringComparison.Ordinal)
            && LoosenedRestriction(before, after) is { } loosened)
        {
            return Refused(loosened, "A key cannot loosen its own restrictions.");
        }

        return null;
    }

    /// <summary>Every platform permission granted by each of <paramref name="permissionSets"/> must be the caller's too.</summary>
    public static ApiError? Holds(HttpContext httpContext, IEnumerable<IReadOnlyCollection<string>> permissionSets)
    {
        httpContext.Items[CheckedItem] = true;
        var caller = httpContext.RequirePrincipal();
        if (caller.IsRoot)
        {
            return null;
        }

        foreach (var permissions in permissionSets)
        {
            if (MissingPlatformPermission(caller, permissions) is { } missing)
            {
                return ApiError.Forbidden(missing);
            }
        }

        return null;
    }

    /// <summary>For settings that bind the platform itself: only the root key may change <paramref name="fields"/> (none: nothing to check).</summary>
    public static ApiError? RootOnly(HttpContext httpContext, IReadOnlyList<string> fields)
    {
        httpContext.Items[CheckedItem] = true;
        return fields.Count == 0 || httpContext.RequirePrincipal().IsRoot
            ? null
            : Refused(fields[0], $"Only the platform's root key may change {string.Join(", ", fields)}.", Permission.AdminAll);
    }

    private static string? MissingPlatformPermission(Principal caller, IReadOnlyCollection<string>? granted)
    {
        if (granted is null || granted.Count == 0)
        {
            return null;
        }

        foreach (var platform in PermissionCatalog.All)
        {
            if (Permission.Grants(granted, platform.Name) && !caller.Has(platform.Name))
            {
                return platform.Name;
            }
        }

        return null;
    }

    private static string? LoosenedRestriction(Grant before, Grant after)
    {
        if (before.IpAllowlist.Count > 0 && (after.IpAllowlist.Count == 0 || !after.IpAllowlist.All(range => Within(range, before.IpAllowlist))))
        {
            return "ipAllowlist";
        }

        if (before.ExpiresAt is { } expiry && (after.ExpiresAt is not { } newExpiry || Later(newExpiry, expiry)))
        {
            return "expiresAt";
        }

        if (before.Remaining is { } credits && (after.Remaining is not { } newCredits || newCredits > credits))
        {
            return "remaining";
        }

        if (after.Refill is not null && !Equals(after.Refill, before.Refill))
        {
            return "refill";
        }

        foreach (var (name, limit, durationMs) in before.RateLimits)
        {
            var kept = after.RateLimits.FirstOrDefault(r => r.Name == name);
            if (kept.Name is null || kept.Limit > limit || kept.DurationMs < durationMs)
            {
                return "ratelimits";
            }
        }

        return !before.Enabled && after.Enabled ? "enabled" : null;
    }

    /// <summary>
    /// Compared to the millisecond: PostgreSQL keeps microseconds and a request may send 100 ns
    /// ticks, so the same instant read back from storage must not count as later than itself.
    /// </summary>
    private static bool Later(DateTime candidate, DateTime limit) =>
        candidate.Ticks / TimeSpan.TicksPerMillisecond > limit.Ticks / TimeSpan.TicksPerMillisecond;

    /// <summary>Is every address of <paramref name="range"/> inside one of <paramref name="allowed"/>?</summary>
    private static bool Within(IPNetwork range, IReadOnlyList<IPNetwork> allowed) =>
        allowed.Any(outer => outer.BaseAddress.AddressFamily == range.BaseAddress.AddressFamily
            && outer.PrefixLength <= range.PrefixLength
            && outer.Contains(range.BaseAddress));

    private static ApiError Refused(string field, string message, string? required = null) =>
        new(ErrorCodes.Forbidden, message, new Dictionary<string, object?> { ["field"] = field, ["required"] = required });

    private static bool IsSuccess(object? result) => result switch
    {
        IStatusCodeHttpResult { StatusCode: { } status } => status is >= 200 and < 300,
        INestedHttpResult { Result: var inner } => IsSuccess(inner),
        _ => false,
    };
}

/// <summary>Endpoint metadata of a route guarded by <see cref="Escalation"/>; the route-table test reads it.</summary>
public sealed class EscalationGuardMetadata
{
    public static readonly EscalationGuardMetadata Instance = new();

    private EscalationGuardMetadata()
    {
    }
}
