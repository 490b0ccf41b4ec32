using Gatehouse.Contracts.Content;
using Gatehouse.Contracts.Health;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Content;

/// <summary>The event feed, each container's access log, client errors, daily usage and the public service status.</summary>
public static class ActivityOperations
{
    public static async Task<Results<ApiPage<ContentEventView>, ApiError>> Events(
        string orgId, [AsParameters] PageParameters paging, [FromQuery] string? type, [FromQuery] string? containerId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var query = db.Owned<ContentEvent>(orgId).AsNoTracking();
        if (type is not null)
        {
            query = query.Where(e => e.Type == type);
        }

        if (containerId is not null)
        {
            query = query.Where(e => e.ContainerId == containerId);
        }

        return await PageAsync(query, paging, cancellationToken);
    }

    public static async Task<Results<ApiPage<ContentEventView>, ApiError>> AccessLog(
        string orgId, string containerId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!await db.Owned<ContentContainer>(orgId).AnyAsync(c => c.Id == containerId, cancellationToken))
        {
            return ApiError.NotFound("container");
        }

        string[] accesses = ["container.opened", "container.downloaded", "container.read", "container.denied", "container.expired", "container.tampered"];
        return await PageAsync(db.Owned<ContentEvent>(orgId).AsNoTracking().Where(e => e.ContainerId == containerId && accesses.Contains(e.Type)), paging, cancellationToken);
    }

    public static async Task<Results<ApiCreated<ClientErrorView>, ApiError>> ReportError(
        string orgId, ReportErrorRequest request, GatehouseDb db, ChangeSet changes, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("code", request.Code, 100).Required("message", request.Message, 2000).Optional("source", request.Source, 100)
            .Optional("containerId", request.ContainerId, 100);
        if (request.Details is { Count: > 50 })
        {
            validation.Add("details", "must hold at most 50 entries");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var now = clock.GetUtcNow();
        var error = new ClientError
        {
            Id = Ids.New("cer", now),
            OrgId = orgId,
            Code = request.Code!,
            Message = request.Message!,
            Source = request.Source,
            ContainerId = request.ContainerId,
            Details = request.Details,
            CreatedAt = now.UtcDateTime,
        };
        db.Add(error);
        changes.Record(ContentActions.ErrorReport, orgId, error.Id, new { error.Code, error.Source });
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<ClientErrorView>(ContentViews.View(error));
    }

    public static async Task<Results<ApiPage<ClientErrorView>, ApiError>> ListErrors(
        string orgId, [AsParameters] PageParameters paging, [FromQuery] string? code, [FromQuery] string? source, [FromQuery] string? containerId, GatehouseDb db,
        CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = db.Owned<ClientError>(orgId).AsNoTracking();
        if (code is not null)
        {
            query = query.Where(e => e.Code == code);
        }

        if (source is not null)
        {
            query = query.Where(e => e.Source == source);
        }

        if (containerId is not null)
        {
            query = query.Where(e => e.ContainerId == containerId);
        }

        query = query.ApplyWindow(page);
        var total = await query.LongCountAsync(cancellationToken);
        var items = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        return new ApiPage<ClientErrorView>([.. items.Select(ContentViews.View)], page.Paginate(total));
    }

    /// <summary>Days with activity, oldest first; <c>start</c>/<c>end</c> pick days (UTC dates, inclusive).</summary>
    public static async Task<Results<ApiOk<IReadOnlyList<UsageDayView>>, ApiError>> Usage(string orgId, [FromQuery] string? start, [FromQuery] string? end, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!PageQuery.TryParseTime("start", start, out var from, out var error) || !PageQuery.TryParseTime("end", end, out var to, out error))
        {
            return error!;
        }

        var query = db.Owned<UsageDay>(orgId).AsNoTracking();
        if (from is { } f)
        {
            var day = f.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            query = query.Where(u => string.Compare(u.Day, day) >= 0);
        }

        if (to is { } t)
        {
            var day = t.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            query = query.Where(u => string.Compare(u.Day, day) <= 0);
        }

        var days = await query.OrderBy(u => u.Day).Take(1000).ToListAsync(cancellationToken);
        return new ApiOk<IReadOnlyList<UsageDayView>>([.. days.Select(d => new UsageDayView(d.Day, d.StorageBytes, d.Uploads, d.Opens, d.Downloads))]);
    }

    /// <summary>Public: each service's status word, nothing more (no latency, no details, nothing of a tenant).</summary>
    public static async Task<ApiOk<ServiceStatusView>> Status(IEnumerable<IHealthComponent> components, TimeProvider clock, CancellationToken cancellationToken)
    {
        var services = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var component in components)
        {
            try
            {
                services[component.Name] = (await component.CheckAsync(cancellationToken)).Status;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                services[component.Name] = ComponentHealth.Unhealthy;
            }
        }

        var overall = services.Values.Any(s => s == ComponentHealth.Unhealthy) ? ComponentHealth.Unhealthy
            : services.Values.All(s => s == ComponentHealth.Healthy) ? ComponentHealth.Healthy : ComponentHealth.Degraded;
        return new ApiOk<ServiceStatusView>(new ServiceStatusView(overall, services, clock.GetUtcNow().UtcDateTime));
    }

    private static async Task<Results<ApiPage<ContentEventView>, ApiError>> PageAsync(IQueryable<ContentEvent> query, PageParameters paging, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        query = query.ApplyWindow(page);
        var total = await query.LongCountAsync(cancellationToken);
        var items = await query.ApplySortAndPage(page).ToListAsync(cancellationToken);
        return new ApiPage<ContentEventView>([.. items.Select(ContentViews.View)], page.Paginate(total));
    }
}

/// <summary>The server's own content folder can be created and written to.</summary>
internal sealed class ContentStorageHealth(Platform.Hosting.GatehouseOptions options) : IHealthComponent
{
    public string Name => "content_storage";

    public Task<ComponentHealth> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Never recreate a missing data dir: SQLite would then open a new, empty database in it.
            if (!Directory.Exists(options.DataDir))
            {
                return Task.FromResult(new ComponentHealth(ComponentHealth.Unhealthy, Details: new Dictionary<string, object?> { ["error"] = "data_dir_missing" }));
            }

            var folder = Path.Combine(options.DataDir, "content");
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, ".health-" + Guid.NewGuid().ToString("N"));
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
            return Task.FromResult(new ComponentHealth(ComponentHealth.Healthy));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult(new ComponentHealth(ComponentHealth.Unhealthy, Details: new Dictionary<string, object?> { ["error"] = ex.GetType().Name }));
        }
    }
}
