using System.Runtime.CompilerServices;
using Gatehouse.Contracts;

namespace Gatehouse.Client;

/// <summary>One page of a list: its items and where it stands (<c>meta.pagination</c>).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, Pagination Pagination);

/// <summary>
/// Paging and the filters every list accepts. Subtypes add a list's own filters. Absent values are
/// not sent, so the server's defaults apply (limit 50, offset 0, newest last).
/// </summary>
public record ListQuery
{
    /// <summary>Items per page, 1–200.</summary>
    public int? Limit { get; init; }

    /// <summary>Items to skip.</summary>
    public int? Offset { get; init; }

    /// <summary>Only items created at or after this instant.</summary>
    public DateTimeOffset? Start { get; init; }

    /// <summary>Only items created before this instant.</summary>
    public DateTimeOffset? End { get; init; }

    /// <summary><c>createdAt</c> (oldest first) or <c>-createdAt</c>.</summary>
    public string? Sort { get; init; }

    internal virtual void AddFilters(QueryString query)
    {
    }

    internal QueryString ToQueryString()
    {
        var query = new QueryString();
        query.Add("limit", Limit);
        query.Add("offset", Offset);
        query.Add("start", Start);
        query.Add("end", End);
        query.Add("sort", Sort);
        AddFilters(query);
        return query;
    }
}

/// <summary>Filters of the API-key list.</summary>
public sealed record ApiKeyListQuery : ListQuery
{
    public string? OwnerId { get; init; }
    public bool? Enabled { get; init; }

    /// <summary>Part of the name.</summary>
    public string? Q { get; init; }

    /// <summary>Also list revoked keys.</summary>
    public bool? IncludeRevoked { get; init; }

    internal override void AddFilters(QueryString query)
    {
        query.Add("ownerId", OwnerId);
        query.Add("enabled", Enabled);
        query.Add("q", Q);
        query.Add("includeRevoked", IncludeRevoked);
    }
}

/// <summary>Filters of the organization list.</summary>
public sealed record OrgListQuery : ListQuery
{
    /// <summary>Part of the name or slug.</summary>
    public string? Q { get; init; }

    internal override void AddFilters(QueryString query) => query.Add("q", Q);
}

/// <summary>Filters of the audit trail.</summary>
public sealed record AuditLogQuery : ListQuery
{
    /// <summary>An exact action (<c>api_key.create</c>) or every action of a resource (<c>api_key.*</c>).</summary>
    public string? Action { get; init; }
    public string? ActorId { get; init; }
    public string? TargetId { get; init; }
    public string? RequestId { get; init; }

    /// <summary>Root's trail of every organization only: one organization.</summary>
    public string? OrgId { get; init; }

    internal override void AddFilters(QueryString query)
    {
        query.Add("action", Action);
        query.Add("actorId", ActorId);
        query.Add("targetId", TargetId);
        query.Add("requestId", RequestId);
        query.Add("orgId", OrgId);
    }
}

/// <summary>Filters of the credential list.</summary>
public sealed record CredentialListQuery : ListQuery
{
    public string? IntegrationId { get; init; }
    public string? AuthType { get; init; }

    internal override void AddFilters(QueryString query)
    {
        query.Add("integrationId", IntegrationId);
        query.Add("authType", AuthType);
    }
}

/// <summary>Filters of the user lists.</summary>
public sealed record UserListQuery : ListQuery
{
    public string? Email { get; init; }

    /// <summary>Part of the name or email.</summary>
    public string? Q { get; init; }

    /// <summary>Root's list of every organization only: one organization.</summary>
    public string? OrgId { get; init; }

    internal override void AddFilters(QueryString query)
    {
        query.Add("orgId", OrgId);
        query.Add("email", Email);
        query.Add("q", Q);
    }
}

/// <summary>Filters of the webhook endpoint list.</summary>
public sealed record WebhookListQuery : ListQuery
{
    public bool? Enabled { get; init; }

    internal override void AddFilters(QueryString query) => query.Add("enabled", Enabled);
}

/// <summary>Filters of a webhook endpoint's deliveries.</summary>
public sealed record DeliveryListQuery : ListQuery
{
    /// <summary><c>pending</c>, <c>succeeded</c>, <c>failed</c> or <c>canceled</c>.</summary>
    public string? Status { get; init; }

    internal override void AddFilters(QueryString query) => query.Add("status", Status);
}

/// <summary>Walks every page of a list.</summary>
public static class Paging
{
    /// <summary>
    /// Every item of a list, page after page, by offset: <paramref name="fetch"/> is one of the
    /// clients' list calls. Items created while it walks may be seen or not.
    /// </summary>
    public static async IAsyncEnumerable<T> ReadAllAsync<T, TQuery>(
        Func<TQuery, CancellationToken, Task<Page<T>>> fetch,
        TQuery query,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TQuery : ListQuery
    {
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentNullException.ThrowIfNull(query);
        var next = query;
        while (true)
        {
            var page = await fetch(next, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            if (!page.Pagination.HasMore || page.Items.Count == 0)
            {
                yield break;
            }

            next = next with { Offset = page.Pagination.Offset + page.Items.Count };
        }
    }
}

/// <summary>Filters of the device list.</summary>
public sealed record DeviceListQuery : ListQuery
{
    /// <summary>Only the devices of this user (a Gatehouse user id or the app's own user id).</summary>
    public string? UserId { get; init; }

    /// <summary>Only the devices registered through this device app.</summary>
    public string? AppId { get; init; }

    internal override void AddFilters(QueryString query)
    {
        query.Add("userId", UserId);
        query.Add("appId", AppId);
    }
}

/// <summary>Filters of the administrators' VPN config list.</summary>
public sealed record VpnConfigListQuery : ListQuery
{
    /// <summary>Only this user's configs.</summary>
    public string? UserId { get; init; }

    /// <summary>Only the configs for this gateway.</summary>
    public string? GatewayId { get; init; }

    internal override void AddFilters(QueryString query)
    {
        query.Add("user_id", UserId);
        query.Add("gateway_id", GatewayId);
    }
}
