using System.Text.Json;

namespace Gatehouse.Contracts.Content;

/// <summary>A storage configuration (never a secret: credentials stay in the vault).</summary>
public sealed record StorageConfigView(string Id, string OrgId, string Name, string Provider, string? Bucket, string? Region, string? Endpoint, string? CredentialId, string? Prefix, bool PathStyle, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>What the storage probe did: each step and, when one failed, why.</summary>
public sealed record StorageProbeView(bool Ok, bool Wrote, bool Read, bool Deleted, string? Error);

/// <summary>A container of files.</summary>
public sealed record ContainerView(string Id, string OrgId, string Name, string? StorageConfigId, string? DrmRuleId, IReadOnlyList<string> Tags, long FileCount, long TotalBytes, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>A stored file; <c>sha256</c> is of the plaintext.</summary>
public sealed record FileView(string Id, string Name, long Size, string Sha256, string ContentType, DateTime CreatedAt);

/// <summary>One recipient's link; <c>token</c> is shown in this response only.</summary>
public sealed record ShareLinkView(string Recipient, string Url, string Token);

/// <summary>A created share.</summary>
public sealed record ShareCreatedView(string Id, IReadOnlyList<ShareLinkView> Links);

/// <summary>A share (never its tokens).</summary>
public sealed record ShareView(string Id, string ContainerId, string? DrmRuleId, DateTime? ExpiresAt, DateTime? RevokedAt, IReadOnlyList<ShareRecipientView> Recipients, DateTime CreatedAt);

/// <summary>A recipient of a share and what it used.</summary>
public sealed record ShareRecipientView(string Recipient, long Opens, long Downloads);

/// <summary>What a recipient sees through a share link.</summary>
public sealed record SharedContentView(string ContainerName, string Recipient, DateTime? ExpiresAt, bool ConsentRequired, bool ConsentGiven, bool AllowDownload, bool AllowPrint, bool AllowCopy,
    long? OpensLeft, long? DownloadsLeft, IReadOnlyList<FileView> Files, CustomizationView? Branding);

/// <summary>A DRM rule.</summary>
public sealed record DrmRuleView(string Id, string OrgId, string Name, DateTime? NotBefore, DateTime? ExpiresAt, long? MaxOpens, long? MaxDownloads, bool AllowDownload, bool AllowPrint, bool AllowCopy,
    string? Watermark, IReadOnlyList<string>? AllowedCountries, IReadOnlyList<string>? AllowedIpRanges, bool RequireConsent, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>An address-book entry.</summary>
public sealed record ContactView(string Id, string Email, string Name, string? Company, IReadOnlyList<string> Tags, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>A tag.</summary>
public sealed record TagView(string Id, string Name, string? Color, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>One consent record; <c>subject</c> is null once the person was erased.</summary>
public sealed record ConsentView(string Id, long Seq, string? Subject, string Purpose, string PolicyVersion, bool Granted, DateTime RecordedAt, string Hash);

/// <summary>A subject's current decision per purpose (the newest record wins).</summary>
public sealed record ConsentStatusView(string Subject, IReadOnlyList<ConsentPurposeStatus> Purposes);

/// <summary>The newest decision for one purpose.</summary>
public sealed record ConsentPurposeStatus(string Purpose, bool Granted, string PolicyVersion, DateTime RecordedAt);

/// <summary>Whether the consent chain verifies, and where it breaks when it does not.</summary>
public sealed record ConsentChainView(bool Valid, long Records, long? BrokenAtSeq);

/// <summary>How many records an erasure emptied.</summary>
public sealed record ConsentErasureView(string Subject, long Erased);

/// <summary>Branding for the share pages.</summary>
public sealed record CustomizationView(string? LogoUrl, IReadOnlyDictionary<string, string>? Colors, string? EmailFrom, IReadOnlyDictionary<string, string>? ViewerTexts, DateTime? UpdatedAt);

/// <summary>A content event (<c>container.opened</c>, <c>.downloaded</c>, <c>.shared</c>, <c>.denied</c> …).</summary>
public sealed record ContentEventView(string Id, string Type, string? ContainerId, string? FileId, string? ShareId, string? Recipient, string? Reason, string? Ip, string? Country, string? DownloadId, DateTime OccurredAt);

/// <summary>An error a client reported.</summary>
public sealed record ClientErrorView(string Id, string Code, string Message, string? Source, string? ContainerId, IReadOnlyDictionary<string, JsonElement>? Details, DateTime CreatedAt);

/// <summary>One day's consumption of an organization.</summary>
public sealed record UsageDayView(string Day, long StorageBytes, long Uploads, long Opens, long Downloads);

/// <summary>Each service's health, without a credential and without tenant detail.</summary>
public sealed record ServiceStatusView(string Status, IReadOnlyDictionary<string, string> Services, DateTime CheckedAt);
