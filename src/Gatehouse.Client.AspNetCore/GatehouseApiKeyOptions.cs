using Microsoft.AspNetCore.Authentication;

namespace Gatehouse.Client.AspNetCore;

/// <summary>Names used by the integration.</summary>
public static class GatehouseApiKeyDefaults
{
    /// <summary>The default authentication scheme name.</summary>
    public const string AuthenticationScheme = "GatehouseApiKey";
}

/// <summary>The claims of a caller whose key Gatehouse found valid.</summary>
public static class GatehouseClaimTypes
{
    public const string KeyId = "gatehouse:key_id";
    public const string KeyName = "gatehouse:key_name";
    public const string OrgId = "gatehouse:org_id";
    public const string OwnerId = "gatehouse:owner_id";

    /// <summary>One claim per permission of the key (its roles' permissions included).</summary>
    public const string Permission = "gatehouse:permission";
    public const string Role = "gatehouse:role";

    /// <summary>Usage credits left after this request (absent: unlimited).</summary>
    public const string Remaining = "gatehouse:remaining";

    /// <summary>One claim per named rate limit: <c>name remaining/limit</c>.</summary>
    public const string RateLimit = "gatehouse:ratelimit";

    /// <summary>"true" on the principal of a request let through while Gatehouse was unreachable (<see cref="GatehouseApiKeyOptions.FailOpen"/>).</summary>
    public const string Unverified = "gatehouse:unverified";
}

/// <summary>How the handler reaches Gatehouse and reads the caller's key.</summary>
public sealed class GatehouseApiKeyOptions : AuthenticationSchemeOptions
{
    /// <summary>The Gatehouse server, e.g. <c>https://gatehouse.internal</c>.</summary>
    public string BaseUrl { get; set; } = "";

    /// <summary>Your service's own key, with <c>api_keys:verify</c> on the organization whose keys it accepts (or the root key).</summary>
    public string RootOrOrgKey { get; set; } = "";

    /// <summary>The header that may carry the caller's key besides <c>Authorization: Bearer</c>. Default <c>X-API-Key</c>.</summary>
    public string HeaderName { get; set; } = "X-API-Key";

    /// <summary>
    /// When Gatehouse cannot be reached (or fails): false (default) answers 503, fail closed; true lets
    /// the request through as an unverified caller (claim <see cref="GatehouseClaimTypes.Unverified"/>) whose
    /// permission policies pass — availability over security, for routes where that trade is acceptable.
    /// </summary>
    public bool FailOpen { get; set; }

    /// <summary>Send the connection's remote address as <c>ip</c>, so a key's IP allowlist applies. Default true.</summary>
    public bool ForwardClientIp { get; set; } = true;

    /// <summary>Verify cache of the underlying client (off by default; see <see cref="GatehouseClientOptions.VerifyCacheTtl"/>).</summary>
    public TimeSpan VerifyCacheTtl { get; set; } = TimeSpan.Zero;

    /// <summary>Time allowed per attempt to reach Gatehouse. Default 5 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Attempts per verification. Default 2.</summary>
    public int MaxAttempts { get; set; } = 2;

    public override void Validate()
    {
        base.Validate();
        if (string.IsNullOrWhiteSpace(RootOrOrgKey))
        {
            throw new InvalidOperationException("GatehouseApiKeyOptions.RootOrOrgKey is required: the key your service verifies callers with.");
        }

        if (string.IsNullOrWhiteSpace(HeaderName))
        {
            throw new InvalidOperationException("GatehouseApiKeyOptions.HeaderName must name a header.");
        }

        ClientOptions().Validate();
    }

    internal GatehouseClientOptions ClientOptions() => new()
    {
        BaseUrl = BaseUrl,
        ApiKey = RootOrOrgKey,
        VerifyCacheTtl = VerifyCacheTtl,
        RequestTimeout = RequestTimeout,
        MaxAttempts = MaxAttempts,
    };
}
