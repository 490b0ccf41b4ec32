using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// Flat organization routes (API.md §12, decision 0019): every <c>/api/v1/orgs/{orgId}/&lt;rest&gt;</c>
/// also answers at <c>/api/v1/&lt;rest&gt;</c>, the organization named by <c>X-Tenant-Id</c> (or its
/// spelling <c>X-TenantId</c>; an id or a slug) or else the credential's own. Runs between two routing
/// passes: a path the first pass matched is a real route and is never reinterpreted; one it did not
/// match, whose rest has the shape of an organization route, is rewritten to the canonical path and
/// routed again. The rewrite comes before any endpoint filter, so authentication, the rate limit,
/// idempotency, the handler and its audit event run once, exactly as on the canonical route.
/// </summary>
public sealed class FlatOrgRoutes(RequestDelegate next, EndpointDataSource endpoints)
{
    /// <summary>The header naming the organization of a flat route.</summary>
    public const string TenantHeader = "X-Tenant-Id";

    /// <summary>Seed 001 writes it without the second hyphen (<c>x-tenantid</c>); header names are compared without case.</summary>
    public const string TenantHeaderUnhyphenated = "X-TenantId";

    /// <summary>
    /// Stands for "no organization" in a rewritten path when the request has no usable credential or
    /// names no live organization: no organization has this id, so the canonical route answers as it
    /// does for any unknown one (401 without a credential, 404 with one).
    /// </summary>
    private const string NoOrganization = "-";

    private const string ApiPrefix = "/api/v1";
    private const string OrgsPrefix = "/api/v1/orgs/";

    private RestPattern[]? _patterns;

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint() is null && IsOrgRouteShape(context.Request.Path, _patterns ??= Build(endpoints)))
        {
            // The credential is read against the path the client sent (a DPoP proof signs that URL), and
            // the outcome stays on the request for the canonical route's filter: resolved once.
            var outcome = await Authentication.ResolveAsync(context);
            var tenant = Tenant(context.Request);
            string orgId;
            if (tenant is not null)
            {
                orgId = await ResolveTenantAsync(context, tenant) ?? NoOrganization;
            }
            else if (outcome.Principal is { OrgId: { } own })
            {
                orgId = own;
            }
            else if (outcome.Principal is not null)
            {
                // The root key (or a platform administrator) belongs to no organization: which one is meant?
                await ApiError.Invalid(
                    $"This route acts on one organization: name it with the {TenantHeader} header (its id or slug); the credential belongs to none.",
                    new Dictionary<string, object?> { ["header"] = TenantHeader }).ExecuteAsync(context);
                return;
            }
            else
            {
                orgId = NoOrganization;
            }

            context.Request.Path = new PathString(OrgsPrefix + orgId).Add(context.Request.Path.Value![ApiPrefix.Length..]);
            context.Request.RouteValues.Clear();
        }

        await next(context);
    }

    /// <summary>The tenant a request names, or null when it names none.</summary>
    public static string? Tenant(HttpRequest request)
    {
        var value = request.Headers[TenantHeader].ToString();
        if (value.Length == 0)
        {
            value = request.Headers[TenantHeaderUnhyphenated].ToString();
        }

        value = value.Trim();
        return value.Length == 0 ? null : value;
    }

    /// <summary>
    /// The id of the live organization named by id or slug, or null. A slug is looked up each time
    /// (a rename must take effect at once); an id is passed on as it is, and the canonical route's
    /// organization check decides whether it exists and whether the caller may see it.
    /// </summary>
    private static async Task<string?> ResolveTenantAsync(HttpContext context, string tenant)
    {
        if (Ids.LooksLike(tenant, "org"))
        {
            return tenant;
        }

        var db = context.RequestServices.GetRequiredService<GatehouseDb>();
        return await db.Set<Organization>().AsNoTracking().Where(o => o.Slug == tenant && o.DeletedAt == null)
            .Select(o => o.Id).FirstOrDefaultAsync(context.RequestAborted);
    }

    /// <summary>Whether <paramref name="path"/> is <c>/api/v1/&lt;rest&gt;</c> with a rest some organization route has.</summary>
    private static bool IsOrgRouteShape(PathString path, RestPattern[] patterns)
    {
        if (!path.StartsWithSegments(ApiPrefix, StringComparison.OrdinalIgnoreCase, out var rest) || !rest.HasValue || rest.Value.Length <= 1)
        {
            return false;
        }

        var segments = rest.Value.Split('/', StringSplitOptions.RemoveEmptyEntries);
        foreach (var pattern in patterns)
        {
            if (pattern.Matches(segments))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The rests of every mapped <c>/api/v1/orgs/{orgId}/…</c> route, read from the route table.</summary>
    private static RestPattern[] Build(EndpointDataSource endpoints)
    {
        var patterns = new List<RestPattern>();
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
        {
            if (OrgRouteRest(endpoint.RoutePattern) is { } rest && !patterns.Any(p => p.SameAs(rest)))
            {
                patterns.Add(rest);
            }
        }

        return [.. patterns];
    }

    /// <summary>The segments after <c>/api/v1/orgs/{orgId}</c> of an organization route (null for any other route).</summary>
    public static RestPattern? OrgRouteRest(RoutePattern pattern)
    {
        var segments = pattern.PathSegments;
        if (segments.Count < 5 || !IsLiteral(segments[0], "api") || !IsLiteral(segments[1], "v1") || !IsLiteral(segments[2], "orgs")
            || segments[3].Parts is not [RoutePatternParameterPart { Name: Authorization.OrgIdRouteValue }])
        {
            return null;
        }

        // A literal segment must be spelt as routed; anything holding a parameter takes any one segment.
        return new RestPattern([.. segments.Skip(4).Select(s => s.Parts is [RoutePatternLiteralPart literal] ? literal.Content : null)]);
    }

    private static bool IsLiteral(RoutePatternPathSegment segment, string text) =>
        segment.Parts is [RoutePatternLiteralPart literal] && string.Equals(literal.Content, text, StringComparison.OrdinalIgnoreCase);

    /// <summary>The rest of an organization route: per segment its literal text, or null for a parameter.</summary>
    public sealed record RestPattern(string?[] Segments)
    {
        public bool Matches(string[] path)
        {
            if (path.Length != Segments.Length)
            {
                return false;
            }

            for (var i = 0; i < path.Length; i++)
            {
                if (Segments[i] is { } literal && !string.Equals(literal, path[i], StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }
            }

            return true;
        }

        public bool SameAs(RestPattern other) => Segments.SequenceEqual(other.Segments);

        /// <summary>The flat path, e.g. <c>/api/v1/api-keys/{}</c> for display (parameters by position).</summary>
        public override string ToString() => ApiPrefix + "/" + string.Join('/', Segments.Select(s => s ?? "{}"));
    }
}
