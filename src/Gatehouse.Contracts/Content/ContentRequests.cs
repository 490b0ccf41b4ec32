using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace Gatehouse.Contracts.Content;

/// <summary>Create a storage configuration. Credentials are referenced from the vault, never stored here.</summary>
public sealed record CreateStorageConfigRequest
{
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary><c>local</c> (a folder under the data dir), <c>s3</c>, <c>azure</c> or <c>custom</c> (an HTTP PUT/GET endpoint).</summary>
    [Required, RegularExpression("^(local|s3|azure|custom)$")]
    public string? Provider { get; init; }

    /// <summary>Bucket (s3), blob container (azure) or folder name (local: <c>[a-z0-9._-]{1,63}</c>).</summary>
    [StringLength(63)]
    public string? Bucket { get; init; }

    [StringLength(64)]
    public string? Region { get; init; }

    /// <summary>Service URL (s3-compatible stores, azure, custom).</summary>
    [StringLength(500)]
    public string? Endpoint { get; init; }

    /// <summary>A vault credential of this organization holding the store's secret.</summary>
    [StringLength(100)]
    public string? CredentialId { get; init; }

    /// <summary>Key prefix inside the bucket, blob container or endpoint (s3, azure, custom): <c>[A-Za-z0-9._/-]</c>, no <c>..</c>.</summary>
    [StringLength(200)]
    public string? Prefix { get; init; }

    /// <summary>S3 only: path-style addressing (<c>endpoint/bucket/key</c>) for stores without virtual-hosted buckets.</summary>
    public bool? PathStyle { get; init; }
}

/// <summary>Fields to change; absent fields stay.</summary>
public sealed record UpdateStorageConfigRequest
{
    [StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(63)]
    public string? Bucket { get; init; }

    [StringLength(64)]
    public string? Region { get; init; }

    [StringLength(500)]
    public string? Endpoint { get; init; }

    [StringLength(100)]
    public string? CredentialId { get; init; }

    [StringLength(200)]
    public string? Prefix { get; init; }

    public bool? PathStyle { get; init; }
}

/// <summary>Create a container of files.</summary>
public sealed record CreateContainerRequest
{
    [Required, StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>Where its files are stored; the server's local store when absent.</summary>
    [StringLength(100)]
    public string? StorageConfigId { get; init; }

    /// <summary>The rule shares of this container apply unless a share names its own.</summary>
    [StringLength(100)]
    public string? DrmRuleId { get; init; }

    public List<string>? Tags { get; init; }
}

/// <summary>Fields to change; absent fields stay. The storage of existing files never changes.</summary>
public sealed record UpdateContainerRequest
{
    [StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(100)]
    public string? DrmRuleId { get; init; }

    public List<string>? Tags { get; init; }
}

/// <summary>Share a container with recipients from the address book.</summary>
public sealed record CreateShareRequest
{
    /// <summary>E-mail addresses of address-book entries.</summary>
    [Required]
    public List<string>? Recipients { get; init; }

    /// <summary>Overrides the container's rule for this share.</summary>
    [StringLength(100)]
    public string? DrmRuleId { get; init; }

    public DateTime? ExpiresAt { get; init; }
}

/// <summary>A DRM rule: who may open what, when, how often and from where.</summary>
public sealed record DrmRuleRequest
{
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    public DateTime? NotBefore { get; init; }
    public DateTime? ExpiresAt { get; init; }

    /// <summary>Opens allowed per recipient link (exact under concurrency).</summary>
    public long? MaxOpens { get; init; }

    /// <summary>Downloads allowed per recipient link (exact under concurrency).</summary>
    public long? MaxDownloads { get; init; }

    public bool? AllowDownload { get; init; }

    /// <summary>Advisory for viewers: nothing stops a client that holds the plaintext.</summary>
    public bool? AllowPrint { get; init; }

    /// <summary>Advisory for viewers: nothing stops a client that holds the plaintext.</summary>
    public bool? AllowCopy { get; init; }

    /// <summary>Stamp text; <c>{recipient}</c> and <c>{downloadId}</c> are replaced per open.</summary>
    [StringLength(200)]
    public string? Watermark { get; init; }

    /// <summary>ISO 3166 alpha-2 codes; absent means anywhere.</summary>
    public List<string>? AllowedCountries { get; init; }

    /// <summary>CIDR ranges or single addresses; absent means any address.</summary>
    public List<string>? AllowedIpRanges { get; init; }

    public bool? RequireConsent { get; init; }
}

/// <summary>An address-book entry: a recipient content can be shared with.</summary>
public sealed record ContactRequest
{
    [Required, StringLength(254, MinimumLength = 3)]
    public string? Email { get; init; }

    [Required, StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(200)]
    public string? Company { get; init; }

    public List<string>? Tags { get; init; }
}

/// <summary>A tag.</summary>
public sealed record TagRequest
{
    [Required, StringLength(64, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>Hex colour, <c>#rrggbb</c>.</summary>
    [RegularExpression("^#[0-9a-fA-F]{6}$")]
    public string? Color { get; init; }
}

/// <summary>Record a consent decision (append-only: a withdrawal is a new record with <c>granted: false</c>).</summary>
public sealed record RecordConsentRequest
{
    [Required, StringLength(254, MinimumLength = 1)]
    public string? Subject { get; init; }

    [Required, StringLength(100, MinimumLength = 1)]
    public string? Purpose { get; init; }

    [Required, StringLength(50, MinimumLength = 1)]
    public string? PolicyVersion { get; init; }

    [Required]
    public bool? Granted { get; init; }
}

/// <summary>Erase a person's personal data from the consent records; the chain stays verifiable.</summary>
public sealed record EraseConsentSubjectRequest
{
    [Required, StringLength(254, MinimumLength = 1)]
    public string? Subject { get; init; }
}

/// <summary>Branding of the share pages; the whole document is replaced.</summary>
public sealed record CustomizationRequest
{
    [StringLength(500)]
    public string? LogoUrl { get; init; }

    public Dictionary<string, string>? Colors { get; init; }

    [StringLength(254)]
    public string? EmailFrom { get; init; }

    public Dictionary<string, string>? ViewerTexts { get; init; }
}

/// <summary>An error a client reports.</summary>
public sealed record ReportErrorRequest
{
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Code { get; init; }

    [Required, StringLength(2000, MinimumLength = 1)]
    public string? Message { get; init; }

    /// <summary>What reported it (a viewer, an uploader).</summary>
    [StringLength(100)]
    public string? Source { get; init; }

    [StringLength(100)]
    public string? ContainerId { get; init; }

    public Dictionary<string, JsonElement>? Details { get; init; }
}

/// <summary>A recipient gives (or refuses) the consent a rule requires.</summary>
public sealed record ShareConsentRequest
{
    [Required]
    public bool? Granted { get; init; }

    [StringLength(50)]
    public string? PolicyVersion { get; init; }
}
