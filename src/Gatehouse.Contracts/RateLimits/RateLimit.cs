namespace Gatehouse.Contracts.RateLimits;

/// <summary>Count one use of something of yours against a limit.</summary>
public sealed record RateLimitRequest
{
    /// <summary>What is limited, e.g. <c>email.send</c>: <c>[a-zA-Z0-9_.:-]{1,64}</c>.</summary>
    public string? Namespace { get; init; }

    /// <summary>Who is limited, e.g. a user id or an IP: 1–256 characters.</summary>
    public string? Identifier { get; init; }

    /// <summary>Units per window (1–1 000 000 000); an override of this namespace and identifier wins.</summary>
    public long? Limit { get; init; }

    /// <summary>Window length in milliseconds (1 000 – 30 days).</summary>
    public long? DurationMs { get; init; }

    /// <summary>Units this use costs (default 1; 0 only reads the state).</summary>
    public long? Cost { get; init; }

    /// <summary>Root only: the organization to count in (an organization key always counts in its own).</summary>
    public string? OrgId { get; init; }
}

/// <summary>The decision: <c>success</c> false means the limit is reached and nothing was counted.</summary>
public sealed record RateLimitResponse(bool Success, long Limit, long Remaining, DateTimeOffset ResetAt);
