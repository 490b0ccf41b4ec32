using Gatehouse.Contracts;
using Gatehouse.Contracts.Content;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Content;

public static class ShareOperations
{
    /// <summary>The prefix of share-link tokens (the base58 key format with its checksum, so garbage is refused before a lookup).</summary>
    public const string TokenPrefix = "gsh";

    public static async Task<Results<ApiCreated<ShareCreatedView>, ApiError>> Create(
        string orgId, string containerId, CreateShareRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, SecretHasher hasher, ContentOptions options,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var validation = new Validation().Optional("drmRuleId", request.DrmRuleId, 100);
        if (request.Recipients is null || request.Recipients.Count == 0)
        {
            validation.Add("recipients", "required");
        }
        else if (request.Recipients.Count > 100 || request.Recipients.Any(r => string.IsNullOrWhiteSpace(r) || r.Length > 254))
        {
            validation.Add("recipients", "must be 1 to 100 e-mail addresses");
        }

        if (request.ExpiresAt is { } expiresAt && expiresAt.ToUniversalTime() <= now.UtcDateTime)
        {
            validation.Add("expiresAt", "must be in the future");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var container = await db.Owned<ContentContainer>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == containerId, cancellationToken);
        if (container is null)
        {
            return ApiError.NotFound("container");
        }

        if (request.DrmRuleId is { } ruleId && !await db.Owned<DrmRule>(orgId).AnyAsync(r => r.Id == ruleId, cancellationToken))
        {
            return ApiError.Validation("drmRuleId", "must name a DRM rule of this organization");
        }

        var emails = request.Recipients!.Select(r => r.Trim().ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToList();
        var known = await db.Owned<Contact>(orgId).Where(c => emails.Contains(c.Email)).Select(c => c.Email).ToListAsync(cancellationToken);
        var unknown = emails.Except(known, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            return ApiError.Validation("recipients", "must be in the address book: " + string.Join(", ", unknown));
        }

        var share = new ContentShare
        {
            Id = Ids.New("shr", now),
            OrgId = orgId,
            ContainerId = containerId,
            DrmRuleId = request.DrmRuleId,
            ExpiresAt = request.ExpiresAt?.ToUniversalTime(),
            CreatedAt = now.UtcDateTime,
        };
        var baseUrl = (options.PublicBaseUrl ?? $"{httpContext.Request.Scheme}://{httpContext.Request.Host}").TrimEnd('/');
        var links = new List<ShareLinkView>();
        db.Add(share);
        foreach (var email in emails)
        {
            var token = ApiKeyFormat.Generate(TokenPrefix);
            db.Add(new ShareLink { Id = Ids.New("shl", now), OrgId = orgId, ShareId = share.Id, Recipient = email, TokenHash = hasher.Hash(token), CreatedAt = now.UtcDateTime });
            links.Add(new ShareLinkView(email, $"{baseUrl}/api/v1/shares/{token}", token));
        }

        ContentLedger.Event(db, clock, orgId, "container.shared", containerId, shareId: share.Id, recipient: string.Join(",", emails));
        changes.Record(ContentActions.ShareCreate, orgId, share.Id, new { containerId, recipients = emails, share.DrmRuleId, share.ExpiresAt });
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<ShareCreatedView>(new ShareCreatedView(share.Id, links));
    }

    public static async Task<Results<ApiPage<ShareView>, ApiError>> List(string orgId, string containerId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        if (!await db.Owned<ContentContainer>(orgId).AnyAsync(c => c.Id == containerId, cancellationToken))
        {
            return ApiError.NotFound("container");
        }

        var (shares, pagination) = await db.Owned<ContentShare>(orgId).AsNoTracking().Where(s => s.ContainerId == containerId).ToPageAsync(page, cancellationToken);
        var ids = shares.Select(s => s.Id).ToList();
        var links = (await db.Owned<ShareLink>(orgId).AsNoTracking().Where(l => ids.Contains(l.ShareId)).ToListAsync(cancellationToken)).ToLookup(l => l.ShareId);
        return new ApiPage<ShareView>(
            [.. shares.Select(s => new ShareView(s.Id, s.ContainerId, s.DrmRuleId, s.ExpiresAt, s.RevokedAt,
                [.. links[s.Id].OrderBy(l => l.Recipient, StringComparer.Ordinal).Select(l => new ShareRecipientView(l.Recipient, l.Opens, l.Downloads))], s.CreatedAt))],
            pagination);
    }

    /// <summary>Revokes a share: every link of it is refused from the next open on.</summary>
    public static async Task<Results<ApiOk<Deleted>, ApiError>> Revoke(
        string orgId, string containerId, string shareId, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var share = await db.Owned<ContentShare>(orgId).FirstOrDefaultAsync(s => s.Id == shareId && s.ContainerId == containerId, cancellationToken);
        if (share is null)
        {
            return ApiError.NotFound("share");
        }

        if (share.RevokedAt is null)
        {
            share.RevokedAt = clock.GetUtcNow().UtcDateTime;
            ContentLedger.Event(db, clock, orgId, "container.share_revoked", containerId, shareId: share.Id);
            changes.Record(ContentActions.ShareRevoke, orgId, share.Id, new { containerId });
            await changes.CommitAsync(cancellationToken);
        }

        return new ApiOk<Deleted>(new Deleted(share.Id));
    }
}
