namespace Gatehouse.Client;

/// <summary>How a <see cref="GatehouseClient"/> reaches the server and how hard it tries.</summary>
public sealed class GatehouseClientOptions
{
    /// <summary>The server's base address, e.g. <c>https://gatehouse.example.com</c> (the client adds <c>/api/v1</c>).</summary>
    public string BaseUrl { get; set; } = "";

    /// <summary>The credential sent as <c>Authorization: Bearer</c>: an API key, a root key, an access token or a session token.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Attempts per call, the first included (1 turns retries off). Default 3.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The first backoff; each retry doubles it (with full jitter) up to <see cref="MaxRetryDelay"/>. Default 200 ms.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two attempts, also for a server's <c>Retry-After</c>. Default 30 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one attempt (request and response body); a timeout is retried like a transport error. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a verify verdict may be answered from this process's memory. Off (zero) by default:
    /// a cached verdict spends no credits and takes no rate-limit unit, and a revoked key stays
    /// valid here until its entry expires. Only plain verifications (key and permission query) are cached.
    /// </summary>
    public TimeSpan VerifyCacheTtl { get; set; } = TimeSpan.Zero;

    /// <summary>Verdicts kept at most when the cache is on. Default 10 000.</summary>
    public int VerifyCacheCapacity { get; set; } = 10_000;

    /// <summary>The clock of backoff waits and cache expiry (tests replace it).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal Uri ApiBase()
    {
        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException("GatehouseClientOptions.BaseUrl must be an absolute http or https URL.");
        }

        var root = uri.AbsoluteUri.TrimEnd('/');
        return new Uri(root.EndsWith("/api/v1", StringComparison.Ordinal) ? root + "/" : root + "/api/v1/");
    }

    internal void Validate()
    {
        _ = ApiBase();
        if (MaxAttempts < 1)
        {
            throw new InvalidOperationException("GatehouseClientOptions.MaxAttempts must be at least 1.");
        }

        if (RequestTimeout <= TimeSpan.Zero && RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new InvalidOperationException("GatehouseClientOptions.RequestTimeout must be positive.");
        }
    }
}

/// <summary>Settings of one call that override the client's.</summary>
public sealed record RequestOptions
{
    /// <summary>The <c>Idempotency-Key</c> of a POST; absent, the client generates one per call and reuses it on every retry.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Sent as <c>X-Request-Id</c>, so the call can be found in the server's logs and audit trail.</summary>
    public string? RequestId { get; init; }

    /// <summary>Overrides <see cref="GatehouseClientOptions.RequestTimeout"/> for this call.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Overrides <see cref="GatehouseClientOptions.MaxAttempts"/> for this call.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>Overrides the client's credential for this call.</summary>
    public string? ApiKey { get; init; }
}
