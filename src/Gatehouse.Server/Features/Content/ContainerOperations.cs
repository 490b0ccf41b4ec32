using Gatehouse.Contracts;
using Gatehouse.Contracts.Content;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Content;

public static class ContainerOperations
{
    public static async Task<Results<ApiCreated<ContainerView>, ApiError>> Create(
        string orgId, CreateContainerRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", request.Name, 200).Optional("storageConfigId", request.StorageConfigId, 100).Optional("drmRuleId", request.DrmRuleId, 100);
        CheckTags(validation, request.Tags);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        if (request.StorageConfigId is { } configId && !await db.Owned<StorageConfig>(orgId).AnyAsync(c => c.Id == configId, cancellationToken))
        {
            return ApiError.Validation("storageConfigId", "must name a storage configuration of this organization");
        }

        if (request.DrmRuleId is { } ruleId && !await db.Owned<DrmRule>(orgId).AnyAsync(r => r.Id == ruleId, cancellationToken))
        {
            return ApiError.Validation("drmRuleId", "must name a DRM rule of this organization");
        }

        var now = clock.GetUtcNow();
        var container = new ContentContainer
        {
            Id = Ids.New("ctr", now),
            OrgId = orgId,
            Name = request.Name!,
            StorageConfigId = request.StorageConfigId,
            DrmRuleId = request.DrmRuleId,
            Tags = [.. (request.Tags ?? []).Distinct(StringComparer.Ordinal)],
            CreatedAt = now.UtcDateTime,
            UpdatedAt = now.UtcDateTime,
        };
        db.Add(container);
        changes.Record(ContentActions.ContainerCreate, orgId, container.Id, new { container.Name, container.StorageConfigId, container.DrmRuleId, container.Tags });
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<ContainerView>(View(container, 0, 0));
    }

    public static async Task<Results<ApiPage<ContainerView>, ApiError>> List(
        string orgId, [AsParameters] PageParameters paging, [FromQuery] string? tag, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = db.Owned<ContentContainer>(orgId).AsNoTracking().ApplyWindow(page);
        List<ContentContainer> items;
        long total;
        if (tag is null)
        {
            total = await query.LongCountAsync(cancellationToken);
            items = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        }
        else
        {
            // Tags are a JSON column: filtered here, after the window, which is bounded by the organization's containers.
            var all = (await query.ApplySortAndPage(page with { Offset = 0, Limit = int.MaxValue }).ToListAsync(cancellationToken)).Where(c => c.Tags.Contains(tag)).ToList();
            total = all.Count;
            items = [.. all.Skip(page.Offset).Take(page.Limit)];
        }

        var ids = items.Select(c => c.Id).ToList();
        var sizes = await db.Owned<ContentFile>(orgId).Where(f => ids.Contains(f.ContainerId))
            .GroupBy(f => f.ContainerId).Select(g => new { g.Key, Count = g.LongCount(), Bytes = g.Sum(f => f.Size) }).ToDictionaryAsync(g => g.Key, cancellationToken);
        return new ApiPage<ContainerView>(
            [.. items.Select(c => sizes.TryGetValue(c.Id, out var s) ? View(c, s.Count, s.Bytes) : View(c, 0, 0))], page.Paginate(total));
    }

    public static async Task<Results<ApiOk<ContainerView>, ApiError>> Get(string orgId, string containerId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var container = await db.Owned<ContentContainer>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == containerId, cancellationToken);
        return container is null ? ApiError.NotFound("container") : new ApiOk<ContainerView>(await ViewAsync(db, container, cancellationToken));
    }

    public static async Task<Results<ApiOk<ContainerView>, ApiError>> Update(
        string orgId, string containerId, UpdateContainerRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Optional("drmRuleId", request.DrmRuleId, 100);
        if (request.Name is not null)
        {
            validation.Required("name", request.Name, 200);
        }

        CheckTags(validation, request.Tags);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var container = await db.Owned<ContentContainer>(orgId).FirstOrDefaultAsync(c => c.Id == containerId, cancellationToken);
        if (container is null)
        {
            return ApiError.NotFound("container");
        }

        if (request.DrmRuleId is { Length: > 0 } ruleId && !await db.Owned<DrmRule>(orgId).AnyAsync(r => r.Id == ruleId, cancellationToken))
        {
            return ApiError.Validation("drmRuleId", "must name a DRM rule of this organization");
        }

        container.Name = request.Name ?? container.Name;
        // An empty string detaches the rule; null leaves it.
        container.DrmRuleId = request.DrmRuleId is null ? container.DrmRuleId : request.DrmRuleId.Length == 0 ? null : request.DrmRuleId;
        container.Tags = request.Tags is null ? container.Tags : [.. request.Tags.Distinct(StringComparer.Ordinal)];
        container.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        changes.Record(ContentActions.ContainerUpdate, orgId, container.Id, new { container.Name, container.DrmRuleId, container.Tags });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<ContainerView>(await ViewAsync(db, container, cancellationToken));
    }

    /// <summary>Deletes the container with its files, shares and links; the stored objects go once that committed.</summary>
    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string orgId, string containerId, GatehouseDb db, ChangeSet changes, ContentStores stores, TimeProvider clock, CancellationToken cancellationToken)
    {
        var container = await db.Owned<ContentContainer>(orgId).FirstOrDefaultAsync(c => c.Id == containerId, cancellationToken);
        if (container is null)
        {
            return ApiError.NotFound("container");
        }

        var files = await db.Owned<ContentFile>(orgId).AsNoTracking().Where(f => f.ContainerId == containerId).ToListAsync(cancellationToken);
        var configs = await db.Owned<StorageConfig>(orgId).AsNoTracking().ToDictionaryAsync(c => c.Id, cancellationToken);
        await changes.RunAsync(async ct =>
        {
            var shareIds = db.Owned<ContentShare>(orgId).Where(s => s.ContainerId == containerId).Select(s => s.Id);
            await db.Owned<ShareLink>(orgId).Where(l => shareIds.Contains(l.ShareId)).ExecuteDeleteAsync(ct);
            await db.Owned<ContentShare>(orgId).Where(s => s.ContainerId == containerId).ExecuteDeleteAsync(ct);
            await db.Owned<ContentFile>(orgId).Where(f => f.ContainerId == containerId).ExecuteDeleteAsync(ct);
            db.Remove(container);
            changes.Record(ContentActions.ContainerDelete, orgId, container.Id, new { container.Name, files = files.Count });
            await db.SaveChangesAsync(ct);
            await ContentLedger.CountAsync(db, clock, orgId, cancellationToken: ct);
        }, cancellationToken);
        foreach (var file in files)
        {
            await FileOperations.DeleteObjectQuietlyAsync(db, stores, file.StorageConfigId is { } id ? configs.GetValueOrDefault(id) : null, file.ObjectKey);
        }

        return new ApiOk<Deleted>(new Deleted(container.Id));
    }

    private static async Task<ContainerView> ViewAsync(GatehouseDb db, ContentContainer container, CancellationToken cancellationToken)
    {
        var files = db.Owned<ContentFile>(container.OrgId).Where(f => f.ContainerId == container.Id);
        return View(container, await files.LongCountAsync(cancellationToken), await files.SumAsync(f => (long?)f.Size, cancellationToken) ?? 0);
    }

    private static ContainerView View(ContentContainer c, long fileCount, long totalBytes) =>
        new(c.Id, c.OrgId, c.Name, c.StorageConfigId, c.DrmRuleId, c.Tags, fileCount, totalBytes, c.CreatedAt, c.UpdatedAt);

    internal static void CheckTags(Validation validation, List<string>? tags)
    {
        if (tags is null)
        {
            return;
        }

        if (tags.Count > 50)
        {
            validation.Add("tags", "must hold at most 50 tags");
        }
        else if (tags.Any(t => string.IsNullOrWhiteSpace(t) || t.Length > 64))
        {
            validation.Add("tags", "each tag must be 1 to 64 characters");
        }
    }
}
