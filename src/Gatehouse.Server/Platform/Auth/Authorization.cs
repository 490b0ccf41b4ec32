using Gatehouse.Contracts;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Platform.Auth;

/// <summary>What a route demands of its caller; read by the filter and by the OpenAPI document.</summary>
public sealed record AccessRequirement(string? Permission, bool RootOnly);

/// <summary>
/// Route conventions that authenticate the caller, scope it to the organization in the route,
/// and check its permission — in that order, so another organization's ids answer 404 before
/// any permission question is asked (nothing leaks about what exists elsewhere).
/// </summary>
public static class Authorization
{
    public const string OrgIdRouteValue = "orgId";

    /// <summary>Any valid credential.</summary>
    public static TBuilder RequireCredential<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.Require(new AccessRequirement(null, RootOnly: false));

    /// <summary>A credential holding <paramref name="permission"/> (and, on org routes, belonging to that org).</summary>
    public static TBuilder RequirePermission<TBuilder>(this TBuilder builder, string permission) where TBuilder : IEndpointConventionBuilder =>
        builder.Require(new AccessRequirement(permission, RootOnly: false));

    /// <summary>The platform's root key only.</summary>
    public static TBuilder RequireRoot<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.Require(new AccessRequirement(null, RootOnly: true));

    /// <summary>
    /// The requirement as metadata only (the OpenAPI document reads it), for a hand-written handler
    /// that calls <see cref="AuthorizeAsync(HttpContext, AccessRequirement, CredentialOutcome, AuthenticationServices, CancellationToken)"/> itself.
    /// </summary>
    public static TBuilder DescribeRequirement<TBuilder>(this TBuilder builder, AccessRequirement requirement) where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(requirement);
        foreach (var status in new[] { 401, 403, 404, 429 })
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ErrorEnvelope), ["application/json"]));
        }

        return builder;
    }

    /// <summary>
    /// A public route: no credential is asked for, and each request is counted per client IP by the
    /// anonymous gates under the public policy (<see cref="PublicRouteMetadata"/>; docs/rate-limits.md,
    /// "Public routes") before the handler runs.
    /// </summary>
    public static TBuilder AllowPublic<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AllowAnonymous();
        builder.WithMetadata(PublicRouteMetadata.Instance);
        builder.WithMetadata(new ProducesResponseTypeMetadata(429, typeof(ErrorEnvelope), ["application/json"]));
        builder.AddEndpointFilter(async (context, next) =>
        {
            var services = context.HttpContext.RequestServices.GetRequiredService<AuthenticationServices>();
            return await services.CheckAnonymousAsync(context.HttpContext, context.HttpContext.RequestAborted) is { } limited ? limited : await next(context);
        });
        return builder;
    }

    /// <summary>
    /// The credential these routes take is <paramref name="scheme"/>'s header, not an API key: the
    /// OpenAPI document declares the scheme (type apiKey) and names it as the routes' only security.
    /// </summary>
    public static TBuilder WithCredentialScheme<TBuilder>(this TBuilder builder, CredentialHeaderScheme scheme) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(scheme);

    private static TBuilder Require<TBuilder>(this TBuilder builder, AccessRequirement requirement) where TBuilder : IEndpointConventionBuilder
    {
        builder.DescribeRequirement(requirement);
        builder.AddEndpointFilter(async (context, next) =>
        {
            var failure = await AuthorizeAsync(context.HttpContext, requirement);
            return failure is null ? await next(context) : failure;
        });

        // Inside the authorization filter: a stored response is replayed only to a caller that is
        // still allowed to make the request, and only to the credential that made it.
        builder.AddEndpointFilter<TBuilder, IdempotencyFilter>();
        return builder;
    }

    public static async ValueTask<ApiError?> AuthorizeAsync(HttpContext httpContext, AccessRequirement requirement) =>
        await AuthorizeAsync(httpContext, requirement, await Authentication.ResolveAsync(httpContext), httpContext.RequestServices.GetRequiredService<AuthenticationServices>(), httpContext.RequestAborted);

    /// <summary>Credential → rate limit → organization → permission, for an outcome already resolved.</summary>
    public static async ValueTask<ApiError?> AuthorizeAsync(
        HttpContext httpContext, AccessRequirement requirement, CredentialOutcome outcome, AuthenticationServices services, CancellationToken cancellationToken)
    {
        if (outcome.Principal is not { } principal)
        {
            var error = outcome.Presented
                ? new ApiError(outcome.FailureCode ?? ErrorCodes.AuthenticationFailed, outcome.FailureMessage ?? "The API key is not valid.")
                : new ApiError(ErrorCodes.AuthenticationFailed, "An API key is required: send Authorization: Bearer <key> or X-API-Key: <key>.");
            error.Headers["WWW-Authenticate"] = outcome.Presented ? "Bearer error=\"invalid_token\"" : "Bearer";
            foreach (var observer in services.FailureObservers)
            {
                await observer.OnFailureAsync(httpContext, error, cancellationToken);
            }

            // Without a valid credential the client IP is what is counted: guessing keys stays slow.
            foreach (var gate in services.AnonymousGates)
            {
                if (await gate.CheckAnonymousAsync(httpContext, cancellationToken) is { } limited)
                {
                    foreach (var observer in services.FailureObservers)
                    {
                        await observer.OnFailureAsync(httpContext, limited, cancellationToken);
                    }

                    return limited;
                }
            }

            return error;
        }

        foreach (var gate in services.Gates)
        {
            if (await gate.CheckAsync(httpContext, principal, cancellationToken) is { } rejected)
            {
                return rejected;
            }
        }

        if (httpContext.Request.RouteValues.TryGetValue(OrgIdRouteValue, out var routeOrg) && routeOrg is string orgId)
        {
            if (!principal.CanAccessOrg(orgId) || !await services.Orgs.ExistsAsync(orgId, cancellationToken))
            {
                return ApiError.NotFound("organization");
            }
        }

        if (requirement.RootOnly && !principal.IsRoot)
        {
            return ApiError.Forbidden(Permission.AdminAll);
        }

        if (requirement.Permission is { } permission && !principal.Has(permission))
        {
            return ApiError.Forbidden(permission);
        }

        return null;
    }
}

/// <summary>
/// Runs after the credential is known and before the permission check (docs/rate-limits.md: credential →
/// rate limit → permission). A gate that returns an error stops the request, and no work is done.
/// </summary>
public interface IRequestGate
{
    ValueTask<ApiError?> CheckAsync(HttpContext httpContext, Principal principal, CancellationToken cancellationToken);
}

/// <summary>A credential sent in a header of its own (the gateway agent's <c>X-Gateway-Token</c>), as the OpenAPI document declares it.</summary>
public sealed record CredentialHeaderScheme(string Name, string Header, string Description);

/// <summary>Marks a route open to anyone (<see cref="Authorization.AllowPublic"/>): the anonymous gates count it under the public policy.</summary>
public sealed record PublicRouteMetadata
{
    public static readonly PublicRouteMetadata Instance = new();
}

/// <summary>
/// Runs for requests without a valid credential (per-IP limits); an error replaces the 401. On a
/// public route (<see cref="PublicRouteMetadata"/>) it runs for every request.
/// </summary>
public interface IAnonymousRequestGate
{
    ValueTask<ApiError?> CheckAnonymousAsync(HttpContext httpContext, CancellationToken cancellationToken);
}

/// <summary>Told about every rejected credential (the audit trail records <c>auth.failure</c>).</summary>
public interface IAuthenticationFailureObserver
{
    ValueTask OnFailureAsync(HttpContext httpContext, ApiError error, CancellationToken cancellationToken);
}
