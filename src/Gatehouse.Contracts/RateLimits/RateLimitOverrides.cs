namespace Gatehouse.Contracts.RateLimits;

/// <summary>Set the limit of one identifier in one namespace.</summary>
public sealed record SetRateLimitOverrideRequest
{
    public string? Namespace { get; init; }
    public string? Identifier { get; init; }
    public long? Limit { get; init; }
    public long? DurationMs { get; init; }
}

/// <summary>An override as the API shows it.</summary>
public sealed record RateLimitOverrideView(string Id, string OrgId, string Namespace, string Identifier, long Limit, long DurationMs, DateTime CreatedAt, DateTime UpdatedAt);
