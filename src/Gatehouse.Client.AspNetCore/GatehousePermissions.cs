using Gatehouse.Contracts.ApiKeys;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Client.AspNetCore;

/// <summary>The caller's key must satisfy a Gatehouse permission query, e.g. <c>deploy:write AND env:prod</c>.</summary>
public sealed class GatehousePermissionRequirement(string query) : IAuthorizationRequirement
{
    public string Query { get; } = string.IsNullOrWhiteSpace(query) ? throw new ArgumentException("A permission query is required.", nameof(query)) : query;
}

/// <summary>
/// Decides a permission query. Queries of the endpoint's own policies were already sent with the
/// key's verification (see <see cref="GatehouseApiKeyHandler"/>); any other (a policy evaluated by
/// hand, with <c>IAuthorizationService</c>) is sent on its own with <c>cost: 0</c> — a dry run that
/// spends nothing, since authentication already spent the request's credit.
/// </summary>
public sealed class GatehousePermissionHandler(
    GatehouseVerifiers verifiers, IOptionsMonitor<GatehouseApiKeyOptions> options, IHttpContextAccessor accessor, ILogger<GatehousePermissionHandler> logger)
    : AuthorizationHandler<GatehousePermissionRequirement>
{
    internal const string RateLimited = "gatehouse:rate_limited";
    internal const string Unavailable = "gatehouse:unavailable";

    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, GatehousePermissionRequirement requirement)
    {
        var http = context.Resource as HttpContext ?? accessor.HttpContext;
        var state = http?.Features.Get<GatehouseRequestState>();
        if (http is null || state is null || context.User.Identity?.IsAuthenticated != true)
        {
            return;
        }

        if (state.CheckedQueries?.Contains(requirement.Query, StringComparer.Ordinal) == true)
        {
            if (state.QueriesPassed)
            {
                context.Succeed(requirement);
            }
            else
            {
                context.Fail(new AuthorizationFailureReason(this, VerifyCodes.InsufficientPermissions));
            }

            return;
        }

        var schemeOptions = options.Get(state.Scheme);
        if (state.Unavailable)
        {
            if (schemeOptions.FailOpen)
            {
                context.Succeed(requirement);
            }

            return;
        }

        try
        {
            var client = verifiers.For(state.Scheme, schemeOptions);
            var ip = schemeOptions.ForwardClientIp && http.Connection.RemoteIpAddress is { } address
                ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString() : null;
            var verdict = await client.ApiKeys.VerifyAsync(
                new VerifyApiKeyRequest { Key = state.Key, Permissions = requirement.Query, Cost = 0, Ip = ip }, cancellationToken: http.RequestAborted);
            if (verdict.Valid)
            {
                context.Succeed(requirement);
            }
            else if (GatehouseRefusals.IsTooMany(verdict))
            {
                state.Verdict = verdict;
                context.Fail(new AuthorizationFailureReason(this, RateLimited));
            }
            else
            {
                context.Fail(new AuthorizationFailureReason(this, verdict.Code));
            }
        }
        catch (Exception ex) when (ex is GatehouseUnavailableException or GatehouseApiException)
        {
            logger.LogError(ex, "Gatehouse could not check the permission query {Query}.", requirement.Query);
            if (schemeOptions.FailOpen)
            {
                context.Succeed(requirement);
                return;
            }

            context.Fail(new AuthorizationFailureReason(this, Unavailable));
        }
    }
}

/// <summary>Answers 429 and 503 for the permission check's own refusals; everything else as ASP.NET Core would.</summary>
public sealed class GatehouseAuthorizationResultHandler(TimeProvider clock) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        var reasons = authorizeResult.AuthorizationFailure?.FailureReasons.Where(r => r.Handler is GatehousePermissionHandler).Select(r => r.Message).ToList() ?? [];
        if (reasons.Contains(GatehousePermissionHandler.Unavailable))
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        if (reasons.Contains(GatehousePermissionHandler.RateLimited) && context.Features.Get<GatehouseRequestState>()?.Verdict is { } verdict)
        {
            GatehouseRefusals.WriteTooMany(context, verdict, clock);
            return;
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}

/// <summary><c>RequireGatehousePermissions("deploy:write AND env:prod")</c> on a policy or an endpoint.</summary>
public static class GatehousePermissionExtensions
{
    /// <summary>Authenticates with the Gatehouse scheme and requires the permission query.</summary>
    public static AuthorizationPolicyBuilder RequireGatehousePermissions(
        this AuthorizationPolicyBuilder policy, string query, string scheme = GatehouseApiKeyDefaults.AuthenticationScheme)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.AddAuthenticationSchemes(scheme).RequireAuthenticatedUser().AddRequirements(new GatehousePermissionRequirement(query));
    }

    /// <summary>The endpoint needs a key that satisfies the permission query (401 without one, 403 when it falls short).</summary>
    public static TBuilder RequireGatehousePermissions<TBuilder>(this TBuilder endpoint, string query, string scheme = GatehouseApiKeyDefaults.AuthenticationScheme)
        where TBuilder : IEndpointConventionBuilder =>
        endpoint.RequireAuthorization(policy => policy.RequireGatehousePermissions(query, scheme));

    /// <summary>The endpoint needs any valid Gatehouse key.</summary>
    public static TBuilder RequireGatehouseKey<TBuilder>(this TBuilder endpoint, string scheme = GatehouseApiKeyDefaults.AuthenticationScheme)
        where TBuilder : IEndpointConventionBuilder =>
        endpoint.RequireAuthorization(policy => policy.AddAuthenticationSchemes(scheme).RequireAuthenticatedUser());
}
