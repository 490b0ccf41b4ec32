namespace Gatehouse.Contracts.Orgs;

/// <summary>An organization as the API shows it.</summary>
public sealed record OrgView(string Id, string Name, string? Slug, OrgSettings Settings, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>Per-organization settings.</summary>
public sealed record OrgSettings
{
    /// <summary>Prefix of new API keys of this organization (<c>[a-z0-9]{1,16}</c>); default <c>gk</c>.</summary>
    public string? KeyPrefix { get; init; }

    /// <summary>Overrides of the platform rate-limit policies for this organization's credentials.</summary>
    public OrgRateLimitSettings? RateLimits { get; init; }
}

/// <summary>Per-organization overrides of the platform's rate-limit policies (requests per window).</summary>
public sealed record OrgRateLimitSettings
{
    /// <summary>Requests per minute of a standard key.</summary>
    public int? PerMinute { get; init; }

    /// <summary>Requests per 5 minutes of a standard key (burst).</summary>
    public int? PerFiveMinutes { get; init; }

    /// <summary>Requests per day of a standard key.</summary>
    public int? PerDay { get; init; }

    /// <summary>Requests per minute of an admin key.</summary>
    public int? AdminPerMinute { get; init; }

    /// <summary>Verifications per minute for the whole organization.</summary>
    public int? VerifyPerMinute { get; init; }
}
