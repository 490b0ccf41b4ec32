using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Gatehouse.Contracts.ApiKeys;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Gatehouse.Client.AspNetCore;

/// <summary>
/// Reads the caller's key (<c>Authorization: Bearer</c> or the configured header), verifies it with
/// Gatehouse and turns a VALID verdict into a <see cref="ClaimsPrincipal"/>. A missing or refused key
/// is 401, a rate-limited or exhausted one 429 (with <c>Retry-After</c>), an unreachable Gatehouse 503
/// unless <see cref="GatehouseApiKeyOptions.FailOpen"/>.
/// </summary>
public sealed class GatehouseApiKeyHandler(
    IOptionsMonitor<GatehouseApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder, GatehouseVerifiers verifiers, IAuthorizationPolicyProvider policies)
    : AuthenticationHandler<GatehouseApiKeyOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ReadKey();
        if (key is null)
        {
            return AuthenticateResult.NoResult();
        }

        var state = new GatehouseRequestState(Scheme.Name, key);
        Context.Features.Set(state);
        var client = verifiers.For(Scheme.Name, Options);
        try
        {
            // The endpoint's permission queries ride on this one verification: a second, separate
            // check would see the rate-limit unit this one just took and refuse the key's last request.
            var queries = await PermissionQueriesAsync();
            var combined = queries.Count switch
            {
                0 => null,
                1 => queries[0],
                _ => string.Join(" AND ", queries.Select(q => "(" + q + ")")),
            };
            var request = new VerifyApiKeyRequest { Key = key, Permissions = combined, Ip = ClientIp() };
            var verdict = request.Ip is null && Options.VerifyCacheTtl > TimeSpan.Zero
                ? await client.ApiKeys.VerifyAsync(key, combined, cancellationToken: Context.RequestAborted)
                : await client.ApiKeys.VerifyAsync(request, cancellationToken: Context.RequestAborted);
            state.Verdict = verdict;
            var permissionsLacking = verdict.Code == VerifyCodes.InsufficientPermissions;
            if (!verdict.Valid && !permissionsLacking)
            {
                return AuthenticateResult.Fail($"Gatehouse refused the key: {verdict.Code}.");
            }

            // A key that exists but lacks the permissions is authenticated: the policy answers 403, not 401.
            state.CheckedQueries = queries;
            state.QueriesPassed = !permissionsLacking;

            return AuthenticateResult.Success(new AuthenticationTicket(PrincipalOf(verdict), Scheme.Name));
        }
        catch (Exception ex) when (ex is GatehouseUnavailableException or GatehouseApiException)
        {
            // Our own key being refused is as much an outage for callers as a dead server: they cannot be checked.
            Logger.LogError(ex, "Gatehouse could not verify a caller's key ({Scheme}).", Scheme.Name);
            state.Unavailable = true;
            if (Options.FailOpen)
            {
                var identity = new ClaimsIdentity(Scheme.Name);
                identity.AddClaim(new Claim(GatehouseClaimTypes.Unverified, "true"));
                return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
            }

            return AuthenticateResult.Fail("Gatehouse is unreachable.");
        }
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var state = Context.Features.Get<GatehouseRequestState>();
        if (state is { Unavailable: true })
        {
            Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        if (state?.Verdict is { } verdict && GatehouseRefusals.IsTooMany(verdict))
        {
            GatehouseRefusals.WriteTooMany(Context, verdict, TimeProvider);
            return;
        }

        await base.HandleChallengeAsync(properties);
        Response.Headers.WWWAuthenticate = "Bearer";
    }

    private async Task<List<string>> PermissionQueriesAsync()
    {
        var queries = new List<string>();
        var endpoint = Context.GetEndpoint();
        if (endpoint is null)
        {
            return queries;
        }

        var found = new List<AuthorizationPolicy>(endpoint.Metadata.GetOrderedMetadata<AuthorizationPolicy>());
        foreach (var data in endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>())
        {
            if (data.Policy is { Length: > 0 } name && await policies.GetPolicyAsync(name) is { } named)
            {
                found.Add(named);
            }
        }

        foreach (var requirement in found.SelectMany(p => p.Requirements).OfType<GatehousePermissionRequirement>())
        {
            if (!queries.Contains(requirement.Query, StringComparer.Ordinal))
            {
                queries.Add(requirement.Query);
            }
        }

        return queries;
    }

    private string? ReadKey()
    {
        var authorization = Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = authorization["Bearer ".Length..].Trim();
            return token.Length > 0 ? token : null;
        }

        var header = Request.Headers[Options.HeaderName].ToString().Trim();
        return header.Length > 0 ? header : null;
    }

    private string? ClientIp() => Options.ForwardClientIp && Context.Connection.RemoteIpAddress is { } address
        ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString()
        : null;

    private ClaimsPrincipal PrincipalOf(KeyVerdict verdict)
    {
        var identity = new ClaimsIdentity(Scheme.Name, GatehouseClaimTypes.KeyName, ClaimTypes.Role);
        void Add(string type, string? value)
        {
            if (value is not null)
            {
                identity.AddClaim(new Claim(type, value));
            }
        }

        Add(ClaimTypes.NameIdentifier, verdict.KeyId);
        Add(GatehouseClaimTypes.KeyId, verdict.KeyId);
        Add(GatehouseClaimTypes.KeyName, verdict.Name);
        Add(GatehouseClaimTypes.OrgId, verdict.OrgId);
        Add(GatehouseClaimTypes.OwnerId, verdict.OwnerId);
        Add(GatehouseClaimTypes.Remaining, verdict.Remaining?.ToString(CultureInfo.InvariantCulture));
        foreach (var permission in verdict.Permissions ?? [])
        {
            Add(GatehouseClaimTypes.Permission, permission);
        }

        foreach (var role in verdict.Roles ?? [])
        {
            Add(GatehouseClaimTypes.Role, role);
            Add(ClaimTypes.Role, role);
        }

        foreach (var limit in verdict.Ratelimits ?? [])
        {
            Add(GatehouseClaimTypes.RateLimit, string.Create(CultureInfo.InvariantCulture, $"{limit.Name} {limit.Remaining}/{limit.Limit}"));
        }

        return new ClaimsPrincipal(identity);
    }
}

/// <summary>What the handler learnt about this request, for the permission check later in the pipeline. Holds the key only for the request's life.</summary>
internal sealed class GatehouseRequestState(string scheme, string key)
{
    public string Scheme { get; } = scheme;
    public string Key { get; } = key;
    public KeyVerdict? Verdict { get; set; }
    public bool Unavailable { get; set; }

    /// <summary>The permission queries checked with the key's verification, and whether they held.</summary>
    public IReadOnlyList<string>? CheckedQueries { get; set; }
    public bool QueriesPassed { get; set; }
}

/// <summary>The 429 answer for a key over its rate limit or out of credits.</summary>
internal static class GatehouseRefusals
{
    public static bool IsTooMany(KeyVerdict verdict) => verdict.Code is VerifyCodes.RateLimited or VerifyCodes.UsageExceeded;

    public static void WriteTooMany(HttpContext context, KeyVerdict verdict, TimeProvider clock)
    {
        context.Response.StatusCode = (int)HttpStatusCode.TooManyRequests;
        var reset = verdict.Ratelimits?.Where(l => l.Exceeded).Select(l => (DateTimeOffset?)l.ResetAt).Max();
        if (verdict.Code == VerifyCodes.RateLimited)
        {
            var seconds = reset is { } at ? Math.Max(1, (long)Math.Ceiling((at - clock.GetUtcNow()).TotalSeconds)) : 1;
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }
    }
}
