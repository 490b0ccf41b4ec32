using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using Gatehouse.Contracts.Audit;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Audit;

/// <summary>
/// Lists and exports audit events. Filters: <c>action</c> (exact, or <c>resource.*</c>), <c>actorId</c>,
/// <c>targetId</c>, <c>requestId</c>, <c>start</c>/<c>end</c> on the event time, paging, and <c>orgId</c> on the admin route.
/// With <c>Accept: application/x-ndjson</c> every matching event is streamed, one JSON object per line,
/// straight from the database cursor (paging parameters do not apply).
/// </summary>
public static class QueryAuditLogs
{
    public const string NdjsonType = "application/x-ndjson";

    /// <summary>The longest <c>action</c> filter; the OpenAPI document declares the same bound.</summary>
    public const int MaxActionLength = 128;

    public static Task<Results<AuditExport, ApiPage<AuditEventView>, ApiError>> ForOrg(
        string orgId, [AsParameters] PageParameters paging, [AsParameters] AuditFilters filters, HttpContext httpContext, GatehouseDb db, CancellationToken cancellationToken) =>
        HandleAsync(orgId, paging, filters, httpContext, db, cancellationToken);

    public static Task<Results<AuditExport, ApiPage<AuditEventView>, ApiError>> ForAdmin(
        [AsParameters] PageParameters paging, [AsParameters] AuditFilters filters, [FromQuery] string? orgId, HttpContext httpContext, GatehouseDb db, CancellationToken cancellationToken) =>
        HandleAsync(orgId is { Length: > 0 } ? orgId : null, paging, filters, httpContext, db, cancellationToken);

    private static async Task<Results<AuditExport, ApiPage<AuditEventView>, ApiError>> HandleAsync(
        string? orgId, PageParameters paging, AuditFilters filters, HttpContext httpContext, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var query = (orgId is null ? db.Set<AuditEvent>() : db.Owned<AuditEvent>(orgId)).AsNoTracking();

        var action = filters.Action ?? "";
        if (action.Length > 0)
        {
            if (action.Length > MaxActionLength)
            {
                return PageQuery.Bad("action", $"must be at most {MaxActionLength} characters");
            }

            if (action.EndsWith(".*", StringComparison.Ordinal))
            {
                var prefix = action[..^1];
                query = query.Where(e => e.Action.StartsWith(prefix));
            }
            else
            {
                query = query.Where(e => e.Action == action);
            }
        }

        if (filters.ActorId is { Length: > 0 } actorId)
        {
            query = query.Where(e => e.ActorId == actorId);
        }

        if (filters.TargetId is { Length: > 0 } targetId)
        {
            query = query.Where(e => e.TargetId == targetId);
        }

        if (filters.RequestId is { Length: > 0 } requestId)
        {
            query = query.Where(e => e.RequestId == requestId);
        }

        if (page.Start is { } start)
        {
            query = query.Where(e => e.OccurredAt >= start);
        }

        if (page.End is { } end)
        {
            query = query.Where(e => e.OccurredAt <= end);
        }

        var sorted = page.Descending
            ? query.OrderByDescending(e => e.OccurredAt).ThenByDescending(e => e.Id)
            : query.OrderBy(e => e.OccurredAt).ThenBy(e => e.Id);
        if (WantsNdjson(httpContext.Request))
        {
            return new AuditExport(sorted);
        }

        var total = await query.LongCountAsync(cancellationToken);
        var items = await sorted.Skip(page.Offset).Take(page.Limit).ToListAsync(cancellationToken);
        return new ApiPage<AuditEventView>([.. items.Select(AuditEventView.From)], page.Paginate(total));
    }

    private static bool WantsNdjson(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => string.Equals(a.MediaType.Value, NdjsonType, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The audit trail's filters, beside the paging parameters (whose start and end apply to the time of the event).</summary>
public sealed class AuditFilters
{
    [FromQuery(Name = "action")]
    [MaxLength(QueryAuditLogs.MaxActionLength)]
    public string? Action { get; set; }

    [FromQuery(Name = "actorId")]
    public string? ActorId { get; set; }

    [FromQuery(Name = "targetId")]
    public string? TargetId { get; set; }

    [FromQuery(Name = "requestId")]
    public string? RequestId { get; set; }
}

/// <summary>Streams audit events as NDJSON, flushing as it goes; memory stays constant whatever the count.</summary>
public sealed class AuditExport(IQueryable<AuditEvent> events) : IResult, IEndpointMetadataProvider
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = QueryAuditLogs.NdjsonType;
        var cancellationToken = httpContext.RequestAborted;
        var lines = 0;
        var newline = "\n"u8.ToArray();
        await foreach (var auditEvent in events.AsAsyncEnumerable().WithCancellation(cancellationToken))
        {
            await JsonSerializer.SerializeAsync(response.Body, AuditEventView.From(auditEvent), JsonDefaults.Options, cancellationToken);
            await response.Body.WriteAsync(newline, cancellationToken);
            if (++lines % 200 == 0)
            {
                await response.Body.FlushAsync(cancellationToken);
            }
        }
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(AuditEventView), [QueryAuditLogs.NdjsonType]));
}
