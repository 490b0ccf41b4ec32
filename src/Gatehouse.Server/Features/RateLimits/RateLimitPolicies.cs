using System.Globalization;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Orgs;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.RateLimiting;
using Gatehouse.Server.Platform.Tenancy;

namespace Gatehouse.Server.Features.RateLimits;

/// <summary>Platform rate-limit defaults (appsettings <c>Gatehouse:RateLimits</c>); organizations override them in their settings.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Off switch for benchmarks of raw throughput; never for production.</summary>
    public bool Enabled { get; set; } = true;

    // The older names of the three standard windows, still accepted. Declared before the documented
    // names, which the binder sets after them, so PerMinute wins when both are given.
    public int StandardPerMinute { get => PerMinute; set => PerMinute = value; }
    public int StandardPerFiveMinutes { get => PerFiveMinutes; set => PerFiveMinutes = value; }
    public int StandardPerDay { get => PerDay; set => PerDay = value; }

    /// <summary><c>Gatehouse:RateLimits:PerMinute</c>, the standard per-credential window of one minute (docs/rate-limits.md).</summary>
    public int PerMinute { get; set; } = 100;
    public int PerFiveMinutes { get; set; } = 1000;
    public int PerDay { get; set; } = 10_000;
    public int AdminPerMinute { get; set; } = 500;
    public int UnauthenticatedPerMinute { get; set; } = 50;

    /// <summary>Requests per minute per client IP to the public routes that take no credential (the PKI's CA certificate, CRL and status check).</summary>
    public int PublicPerMinute { get; set; } = 300;
    public int VerifyPerMinute { get; set; } = 100_000;

    /// <summary>Requests per minute of one gateway agent's token (GateKey's heartbeat limit, 120/min per gateway).</summary>
    public int GatewayPerMinute { get; set; } = 120;

    /// <summary>
    /// Several nodes on PostgreSQL (docs/rate-limits.md, "Several nodes"): how often, in
    /// milliseconds, a node reports the verify path's locally counted units and reads the totals.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(10, 5_000)]
    public int SharedFlushMilliseconds { get; set; } = 200;

    /// <summary>Share of a limit, in percent, past which a window is decided by the shared counters on every request until its interval ends.</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 100)]
    public int ExactThresholdPercent { get; set; } = 80;

    /// <summary>Share of a limit, in percent, one node may admit on the verify path without reporting it (bounds over-admission: nodes × this).</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 20)]
    public int LocalBudgetPercent { get; set; } = 5;

    public SharedCounterSettings SharedCounters() =>
        new(TimeSpan.FromMilliseconds(SharedFlushMilliseconds), ExactThresholdPercent, LocalBudgetPercent);
}

/// <summary>Marks a route with a named policy instead of the credential's: <c>verify</c> (per organization) or <c>auth</c> (per client IP).</summary>
[FeatureApi]
public sealed record RateLimitPolicyMetadata(string Policy)
{
    public const string Verify = "verify";
    public const string Auth = "auth";
}

[FeatureApi]
public static class RateLimitConventions
{
    /// <summary>Counts this route under its own policy (see <see cref="RateLimitPolicyMetadata"/>).</summary>
    public static TBuilder WithRateLimitPolicy<TBuilder>(this TBuilder builder, string policy) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RateLimitPolicyMetadata(policy));
}

/// <summary>
/// The platform policies of docs/rate-limits.md, applied after authentication and before the permission
/// check: a rejected request does no work. Several windows apply at once; all must have room, and
/// the window closest to exhaustion is the one the headers describe.
/// </summary>
public sealed class PlatformRateLimits(RateLimiter limiter, OrgDirectory orgs, Microsoft.Extensions.Options.IOptions<RateLimitOptions> options) : IRequestGate, IAnonymousRequestGate
{
    private const int MaxCachedVerifyPolicies = 100_000;

    private readonly RateLimitOptions _defaults = options.Value;

    // Verify runs in front of every request of our users: its subject and rule are made once per
    // organization and limit, not per request.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, VerifyPolicy> _verifyPolicies = new(StringComparer.Ordinal);
    private NumberText? _limitText;
    private NumberText? _resetText;

    public async ValueTask<ApiError?> CheckAsync(HttpContext httpContext, Principal principal, CancellationToken cancellationToken)
    {
        if (!_defaults.Enabled)
        {
            return null;
        }

        var settings = principal.OrgId is { } orgId ? (await orgs.GetSettingsAsync(orgId, cancellationToken))?.RateLimits : null;
        if (IsVerify(httpContext))
        {
            var policy = VerifyPolicyOf(principal.OrgId ?? "root", settings?.VerifyPerMinute ?? _defaults.VerifyPerMinute);
            // Verify is the hot path: across nodes its policy is counted locally and reconciled (fast mode).
            return await DecideAsync(httpContext, policy.Subject, policy.Rules, cancellationToken, fast: true);
        }

        var (subject, rules) = principal.Kind == ActorKind.Gateway
                ? ("credential:" + principal.CredentialId, new[] { new RateLimitRule("gateway_per_minute", _defaults.GatewayPerMinute, TimeSpan.FromMinutes(1)) })
            : principal.IsAdmin
                ? ("credential:" + principal.CredentialId, new[] { new RateLimitRule("admin_per_minute", settings?.AdminPerMinute ?? _defaults.AdminPerMinute, TimeSpan.FromMinutes(1)) })
                : ("credential:" + principal.CredentialId, StandardRules(settings));
        return await DecideAsync(httpContext, subject, rules, cancellationToken);
    }

    /// <summary>
    /// Requests without a valid credential: counted per client IP, so guessing keys is slow. Public
    /// routes (the CRL and CA certificate) count in a window of their own, so fetching them never
    /// uses up the budget of logins from the same address, nor the other way round.
    /// </summary>
    public async ValueTask<ApiError?> CheckAnonymousAsync(HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (!_defaults.Enabled)
        {
            return null;
        }

        var ip = httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var isPublic = httpContext.GetEndpoint()?.Metadata.GetMetadata<PublicRouteMetadata>() is not null;
        var (subject, rule) = isPublic
            ? ("public-ip:" + ip, new RateLimitRule("public_per_minute", _defaults.PublicPerMinute, TimeSpan.FromMinutes(1)))
            : ("ip:" + ip, new RateLimitRule("unauthenticated_per_minute", _defaults.UnauthenticatedPerMinute, TimeSpan.FromMinutes(1)));
        return await DecideAsync(httpContext, subject, [rule], cancellationToken);
    }

    private VerifyPolicy VerifyPolicyOf(string owner, long limit)
    {
        if (_verifyPolicies.TryGetValue(owner, out var policy) && policy.Rules[0].Limit == limit)
        {
            return policy;
        }

        if (_verifyPolicies.Count >= MaxCachedVerifyPolicies)
        {
            _verifyPolicies.Clear();
        }

        policy = new VerifyPolicy("verify:" + owner, [new RateLimitRule("verify_per_minute", limit, TimeSpan.FromMinutes(1))]);
        _verifyPolicies[owner] = policy;
        return policy;
    }

    private RateLimitRule[] StandardRules(OrgRateLimitSettings? settings) =>
    [
        new("per_minute", settings?.PerMinute ?? _defaults.PerMinute, TimeSpan.FromMinutes(1)),
        new("per_five_minutes", settings?.PerFiveMinutes ?? _defaults.PerFiveMinutes, TimeSpan.FromMinutes(5)),
        new("per_day", settings?.PerDay ?? _defaults.PerDay, TimeSpan.FromDays(1)),
    ];

    private static bool IsVerify(HttpContext httpContext)
    {
        var endpoint = httpContext.GetEndpoint();
        return endpoint?.Metadata.GetMetadata<RateLimitPolicyMetadata>()?.Policy == RateLimitPolicyMetadata.Verify
            || endpoint?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == "VerifyKey";
    }

    private async ValueTask<ApiError?> DecideAsync(HttpContext httpContext, string subject, RateLimitRule[] rules, CancellationToken cancellationToken, bool fast = false)
    {
        var decision = fast
            ? await limiter.TryConsumeFastAsync(subject, rules, 1, cancellationToken)
            : await limiter.TryConsumeAsync(subject, rules, 1, cancellationToken);
        var tightest = decision.Tightest;
        var headers = httpContext.Response.Headers;
        headers["X-RateLimit-Limit"] = NumberText.Of(tightest.Rule.Limit, ref _limitText);
        headers["X-RateLimit-Remaining"] = tightest.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = NumberText.Of(tightest.ResetAt.ToUnixTimeSeconds(), ref _resetText);
        if (decision.Allowed)
        {
            return null;
        }

        var exceeded = decision.Windows.Where(w => w.Exceeded).OrderByDescending(w => w.ResetAt).First();
        var retryAfter = Math.Max(1, (long)Math.Ceiling(decision.RetryAfter(limiter.Now).TotalSeconds));
        var error = new ApiError(ErrorCodes.RateLimitExceeded, $"Rate limit '{exceeded.Rule.Name}' exceeded: {exceeded.Rule.Limit} requests per {Describe(exceeded.Rule.Window)}.",
            new Dictionary<string, object?>
            {
                ["window"] = exceeded.Rule.Name,
                ["limit"] = exceeded.Rule.Limit,
                ["windowSeconds"] = (long)exceeded.Rule.Window.TotalSeconds,
                ["retryAfterSeconds"] = retryAfter,
            });
        error.Headers["Retry-After"] = retryAfter.ToString(CultureInfo.InvariantCulture);
        return error;
    }

    private static string Describe(TimeSpan window) =>
        window.TotalDays >= 1 ? $"{window.TotalDays:0.##} day(s)" : window.TotalMinutes >= 1 ? $"{window.TotalMinutes:0.##} minute(s)" : $"{window.TotalSeconds:0.##} second(s)";

    private sealed record VerifyPolicy(string Subject, RateLimitRule[] Rules);

    /// <summary>The text of the number last written, kept while it does not change (limits, and reset times within a window).</summary>
    private sealed record NumberText(long Value, string Text)
    {
        public static string Of(long value, ref NumberText? last)
        {
            if (Volatile.Read(ref last) is { } known && known.Value == value)
            {
                return known.Text;
            }

            var text = value.ToString(CultureInfo.InvariantCulture);
            Volatile.Write(ref last, new NumberText(value, text));
            return text;
        }
    }
}
