using Gatehouse.Contracts;
using Gatehouse.Contracts.Content;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Content;

/// <summary>
/// The recipient's side: the share token is the credential. Every open and download checks the
/// rule at that moment — revocation, expiry, download permission, address, country, consent — and
/// then takes one from the link's counter with a conditional UPDATE, so limits hold exactly under
/// concurrency. Every refusal is a <c>403 FORBIDDEN</c> with <c>details.reason</c> and an event.
/// </summary>
public static class RecipientOperations
{
    private sealed record Access(ShareLink Link, ContentShare Share, ContentContainer Container, DrmRule? Rule);

    public static async Task<Results<ApiOk<SharedContentView>, ApiError>> View(
        string token, HttpContext httpContext, GatehouseDb db, ChangeSet changes, SecretHasher hasher, CountryLookup countries, TimeProvider clock, CancellationToken cancellationToken)
    {
        var access = await ResolveAsync(db, hasher, token, cancellationToken);
        if (access is null)
        {
            return ApiError.NotFound("share");
        }

        var consentGiven = await ConsentOperations.IsGrantedAsync(db, hasher, access.Link.OrgId, access.Link.Recipient, ConsentOperations.ContentAccessPurpose, cancellationToken);
        // Listing is held to the same gates as opening, except the consent it offers to collect and the counters.
        if (Refusal(access, httpContext, countries, clock, download: false, consentGiven: true) is { } reason)
        {
            return await DenyAsync(db, changes, clock, access, null, reason, httpContext, countries, cancellationToken);
        }

        var files = await db.Owned<ContentFile>(access.Link.OrgId).AsNoTracking().Where(f => f.ContainerId == access.Container.Id).OrderBy(f => f.CreatedAt).ThenBy(f => f.Id)
            .Take(1000).ToListAsync(cancellationToken);
        var branding = await db.Owned<Customization>(access.Link.OrgId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);
        var rule = access.Rule;
        return new ApiOk<SharedContentView>(new SharedContentView(
            access.Container.Name, access.Link.Recipient, EarliestExpiry(access), rule?.RequireConsent == true, consentGiven,
            rule?.AllowDownload ?? true, rule?.AllowPrint ?? true, rule?.AllowCopy ?? true,
            rule?.MaxOpens is { } maxOpens ? Math.Max(0, maxOpens - access.Link.Opens) : null,
            rule?.MaxDownloads is { } maxDownloads ? Math.Max(0, maxDownloads - access.Link.Downloads) : null,
            [.. files.Select(ContentViews.View)], branding is null ? null : ContentViews.View(branding)));
    }

    /// <summary>The recipient answers the consent request; the decision joins the organization's consent chain.</summary>
    public static async Task<Results<ApiCreated<ConsentView>, ApiError>> Consent(
        string token, ShareConsentRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, SecretHasher hasher, CountryLookup countries, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var validation = new Validation().Optional("policyVersion", request.PolicyVersion, 50);
        if (request.Granted is null)
        {
            validation.Add("granted", "required");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var access = await ResolveAsync(db, hasher, token, cancellationToken);
        if (access is null)
        {
            return ApiError.NotFound("share");
        }

        if (access.Share.RevokedAt is not null)
        {
            return Forbidden("revoked");
        }

        var record = await changes.RunAsync(ct => ConsentOperations.AppendAsync(db, changes, hasher, clock, access.Link.OrgId, access.Link.Recipient,
            ConsentOperations.ContentAccessPurpose, request.PolicyVersion ?? "1", request.Granted!.Value, ct), cancellationToken);
        return new ApiCreated<ConsentView>(ContentViews.View(record));
    }

    public static async Task<Results<DecryptedContent, ApiError>> Open(
        string token, string fileId, [FromQuery] bool? download, HttpContext httpContext, GatehouseDb db, ChangeSet changes, SecretHasher hasher, CountryLookup countries,
        ContentStores stores, OrgDataKeys dataKeys, ContentOptions options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var access = await ResolveAsync(db, hasher, token, cancellationToken);
        if (access is null)
        {
            return ApiError.NotFound("share");
        }

        var orgId = access.Link.OrgId;
        var file = await db.Owned<ContentFile>(orgId).AsNoTracking().FirstOrDefaultAsync(f => f.Id == fileId && f.ContainerId == access.Container.Id, cancellationToken);
        if (file is null)
        {
            return ApiError.NotFound("file");
        }

        var isDownload = download == true;
        var consentGiven = access.Rule?.RequireConsent != true
            || await ConsentOperations.IsGrantedAsync(db, hasher, orgId, access.Link.Recipient, ConsentOperations.ContentAccessPurpose, cancellationToken);
        if (Refusal(access, httpContext, countries, clock, isDownload, consentGiven) is { } reason)
        {
            return await DenyAsync(db, changes, clock, access, file.Id, reason, httpContext, countries, cancellationToken);
        }

        // Verified before a counter is taken: a tampered file costs the recipient nothing and serves nothing.
        var prepared = await ContentReader.PrepareAsync(db, changes, stores, dataKeys, clock, file, httpContext, access.Link.Recipient, access.Share.Id, cancellationToken);
        if (prepared.Error is not null)
        {
            return prepared.Error;
        }

        var downloadId = Ids.New("dl", clock.GetUtcNow());
        var ip = httpContext.Connection.RemoteIpAddress;
        var country = countries.CountryOf(ip);
        var admitted = await changes.RunAsync(async ct =>
        {
            var links = db.Owned<ShareLink>(orgId).Where(l => l.Id == access.Link.Id);
            int taken;
            if (isDownload)
            {
                var max = access.Rule?.MaxDownloads;
                taken = await links.Where(l => max == null || l.Downloads < max).ExecuteUpdateAsync(s => s.SetProperty(l => l.Downloads, l => l.Downloads + 1), ct);
            }
            else
            {
                var max = access.Rule?.MaxOpens;
                taken = await links.Where(l => max == null || l.Opens < max).ExecuteUpdateAsync(s => s.SetProperty(l => l.Opens, l => l.Opens + 1), ct);
            }

            if (taken == 0)
            {
                var limit = isDownload ? "max_downloads" : "max_opens";
                ContentLedger.Event(db, clock, orgId, "container.denied", access.Container.Id, file.Id, access.Share.Id, access.Link.Recipient, limit, ip?.ToString(), country);
                changes.Record(ContentActions.ShareDeny, orgId, file.Id, new { containerId = access.Container.Id, shareId = access.Share.Id, reason = limit }, ("share_link", access.Link.Id));
                return false;
            }

            ContentLedger.Event(db, clock, orgId, isDownload ? "container.downloaded" : "container.opened", access.Container.Id, file.Id, access.Share.Id, access.Link.Recipient,
                null, ip?.ToString(), country, downloadId);
            changes.Record(isDownload ? ContentActions.ShareDownload : ContentActions.ShareOpen, orgId, file.Id,
                new { containerId = access.Container.Id, shareId = access.Share.Id, downloadId }, ("share_link", access.Link.Id));
            await ContentLedger.CountAsync(db, clock, orgId, opens: isDownload ? 0 : 1, downloads: isDownload ? 1 : 0, cancellationToken: ct);
            return true;
        }, cancellationToken);
        if (!admitted)
        {
            return Forbidden(isDownload ? "max_downloads" : "max_opens");
        }

        var content = prepared.Content!;
        content.AsAttachment = isDownload;
        content.Headers["X-Download-Id"] = downloadId;
        if (access.Rule?.Watermark is { } watermark)
        {
            var text = Watermarks.Text(watermark, access.Link.Recipient, downloadId);
            content.Headers["X-Watermark"] = Uri.EscapeDataString(text);
            // Stamping holds the whole plaintext in memory; past the limit the header is the only watermark.
            if (file.Size <= options.WatermarkMaxBytes)
            {
                content.StampText = text;
            }
            else
            {
                content.Headers["X-Watermark-Stamped"] = "false";
            }
        }

        if (access.Rule is { } rule)
        {
            content.Headers["X-Allow-Print"] = rule.AllowPrint ? "true" : "false";
            content.Headers["X-Allow-Copy"] = rule.AllowCopy ? "true" : "false";
        }

        return content;
    }

    private static async Task<Access?> ResolveAsync(GatehouseDb db, SecretHasher hasher, string token, CancellationToken cancellationToken)
    {
        // Garbage (a wrong prefix or checksum) never reaches the database.
        if (!token.StartsWith(ShareOperations.TokenPrefix + "_", StringComparison.Ordinal) || !ApiKeyFormat.IsWellFormed(token))
        {
            return null;
        }

        var hash = hasher.Hash(token);
        var link = await db.Set<ShareLink>().AsNoTracking().FirstOrDefaultAsync(l => l.TokenHash == hash, cancellationToken);
        if (link is null)
        {
            return null;
        }

        var share = await db.Owned<ContentShare>(link.OrgId).AsNoTracking().FirstOrDefaultAsync(s => s.Id == link.ShareId, cancellationToken);
        var container = share is null ? null : await db.Owned<ContentContainer>(link.OrgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == share.ContainerId, cancellationToken);
        if (share is null || container is null)
        {
            return null;
        }

        var ruleId = share.DrmRuleId ?? container.DrmRuleId;
        var rule = ruleId is null ? null : await db.Owned<DrmRule>(link.OrgId).AsNoTracking().FirstOrDefaultAsync(r => r.Id == ruleId, cancellationToken);
        return new Access(link, share, container, rule);
    }

    /// <summary>The first gate the request fails, or null. Counters are checked after, atomically.</summary>
    private static string? Refusal(Access access, HttpContext httpContext, CountryLookup countries, TimeProvider clock, bool download, bool consentGiven)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var rule = access.Rule;
        if (access.Share.RevokedAt is not null)
        {
            return "revoked";
        }

        if (access.Share.ExpiresAt <= now || rule?.ExpiresAt <= now)
        {
            return "expired";
        }

        if (rule?.NotBefore > now)
        {
            return "not_yet_valid";
        }

        if (download && rule is { AllowDownload: false })
        {
            return "download_not_allowed";
        }

        var ip = httpContext.Connection.RemoteIpAddress;
        if (ip is { IsIPv4MappedToIPv6: true })
        {
            ip = ip.MapToIPv4();
        }

        if (rule?.AllowedIpRanges is { } ranges && (ip is null || !ranges.Any(r => DrmRuleOperations.ParseRange(r) is { } network && network.Contains(ip))))
        {
            return "ip";
        }

        if (rule?.AllowedCountries is { } allowed && (countries.CountryOf(ip) is not { } country || !allowed.Contains(country, StringComparer.Ordinal)))
        {
            return "country";
        }

        return !consentGiven ? "consent_required" : null;
    }

    private static async Task<ApiError> DenyAsync(
        GatehouseDb db, ChangeSet changes, TimeProvider clock, Access access, string? fileId, string reason, HttpContext httpContext, CountryLookup countries, CancellationToken cancellationToken)
    {
        var orgId = access.Link.OrgId;
        var ip = httpContext.Connection.RemoteIpAddress;
        var expired = reason == "expired";
        await changes.RunAsync(async ct =>
        {
            ContentLedger.Event(db, clock, orgId, expired ? "container.expired" : "container.denied", access.Container.Id, fileId, access.Share.Id, access.Link.Recipient, reason,
                ip?.ToString(), countries.CountryOf(ip));
            changes.Record(expired ? ContentActions.ShareExpire : ContentActions.ShareDeny, orgId, fileId ?? access.Container.Id,
                new { containerId = access.Container.Id, shareId = access.Share.Id, reason }, ("share_link", access.Link.Id));
            await Task.CompletedTask;
        }, cancellationToken);
        return Forbidden(reason);
    }

    private static DateTime? EarliestExpiry(Access access) =>
        access.Share.ExpiresAt is { } a && access.Rule?.ExpiresAt is { } b ? (a < b ? a : b) : access.Share.ExpiresAt ?? access.Rule?.ExpiresAt;

    private static ApiError Forbidden(string reason) =>
        new(ErrorCodes.Forbidden, $"The share does not allow this now ({reason}).", new Dictionary<string, object?> { ["reason"] = reason });
}
