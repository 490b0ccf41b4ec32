using Gatehouse.Contracts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// The paging and filter parameters shared by every list (docs/api.md, Conventions): <c>limit</c>, <c>offset</c>
/// or <c>page</c>, <c>start</c>/<c>end</c> on creation time, <c>sort=createdAt|-createdAt</c>.
/// Bad values are rejected, never clamped.
/// </summary>
public sealed record PageQuery(int Limit, int Offset, DateTime? Start, DateTime? End, bool Descending)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public int Page => Offset / Limit + 1;

    public Pagination Paginate(long total) => new(total, Limit, Offset, Page, Offset + Limit < total);

    public static bool TryParse(IQueryCollection query, out PageQuery page, out ApiError? error) =>
        TryParse(query["limit"], query["offset"], query["page"], query["start"], query["end"], query["sort"], out page, out error);

    /// <summary>The rules on the parameters' text, null meaning absent (several values of one parameter arrive joined with commas, and fail).</summary>
    public static bool TryParse(string? limitText, string? offsetText, string? pageText, string? startText, string? endText, string? sort, out PageQuery page, out ApiError? error)
    {
        page = new PageQuery(DefaultLimit, 0, null, null, Descending: true);
        error = null;
        var limit = DefaultLimit;
        if (limitText is not null && (!int.TryParse(limitText, out limit) || limit is < 1 or > MaxLimit))
        {
            error = Bad("limit", $"must be an integer from 1 to {MaxLimit}");
            return false;
        }

        var offset = 0;
        if (offsetText is not null && (!int.TryParse(offsetText, out offset) || offset < 0))
        {
            error = Bad("offset", "must be an integer ≥ 0");
            return false;
        }

        if (pageText is not null)
        {
            if (!int.TryParse(pageText, out var pageNumber) || pageNumber < 1 || (long)(pageNumber - 1) * limit > int.MaxValue)
            {
                error = Bad("page", "must be an integer ≥ 1");
                return false;
            }

            if (offsetText is not null)
            {
                error = Bad("page", "cannot be combined with offset");
                return false;
            }

            offset = (pageNumber - 1) * limit;
        }

        if (!TryParseTime("start", startText, out var start, out error) || !TryParseTime("end", endText, out var end, out error))
        {
            return false;
        }

        if (start is not null && end is not null && start > end)
        {
            error = Bad("start", "must not be after end");
            return false;
        }

        var descending = true;
        if (sort is not null)
        {
            switch (sort)
            {
                case "createdAt":
                    descending = false;
                    break;
                case "-createdAt":
                    break;
                default:
                    error = Bad("sort", "must be createdAt or -createdAt");
                    return false;
            }
        }

        page = new PageQuery(limit, offset, start, end, descending);
        return true;
    }

    public static bool TryParseTime(string name, string? text, out DateTime? value, out ApiError? error)
    {
        value = null;
        error = null;
        if (text is null)
        {
            return true;
        }

        if (!DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed))
        {
            error = Bad(name, "must be an ISO-8601 timestamp");
            return false;
        }

        value = parsed.UtcDateTime;
        return true;
    }

    public static bool TryParseBool(string name, string? text, out bool? value, out ApiError? error)
    {
        value = null;
        error = null;
        if (text is null)
        {
            return true;
        }

        if (!bool.TryParse(text, out var parsed))
        {
            error = Bad(name, "must be true or false");
            return false;
        }

        value = parsed;
        return true;
    }

    public static ApiError Bad(string parameter, string rule) =>
        ApiError.Invalid($"Query parameter '{parameter}' {rule}.", new Dictionary<string, object?> { ["parameter"] = parameter });
}

/// <summary>
/// The paging parameters as every list binds them (<c>[AsParameters]</c>): declared, so the OpenAPI
/// document lists them and the unknown-parameter check lets them through; bound as text, so a bad
/// value gets the rule's own 400 from <see cref="PageQuery"/>, after the credential is checked.
/// </summary>
public sealed class PageParameters
{
    [FromQuery(Name = "limit")]
    public string? Limit { get; set; }

    [FromQuery(Name = "offset")]
    public string? Offset { get; set; }

    [FromQuery(Name = "page")]
    public string? Page { get; set; }

    [FromQuery(Name = "start")]
    public string? Start { get; set; }

    [FromQuery(Name = "end")]
    public string? End { get; set; }

    [FromQuery(Name = "sort")]
    public string? Sort { get; set; }

    public bool TryParse(out PageQuery page, out ApiError? error) => PageQuery.TryParse(Limit, Offset, Page, Start, End, Sort, out page, out error);
}

public static class PageQueryExtensions
{
    /// <summary>Applies the creation-time window, the sort and the page to a query of entities with CreatedAt and Id.</summary>
    public static IQueryable<T> ApplyWindow<T>(this IQueryable<T> source, PageQuery page) where T : class, ICreatedEntity
    {
        if (page.Start is { } start)
        {
            source = source.Where(e => e.CreatedAt >= start);
        }

        if (page.End is { } end)
        {
            source = source.Where(e => e.CreatedAt <= end);
        }

        return source;
    }

    /// <summary>
    /// One page of a list route: the rows of the window in its sort, and the pagination counted over the
    /// whole window (two queries: the count, then the page).
    /// </summary>
    public static async Task<(List<T> Rows, Pagination Pagination)> ToPageAsync<T>(this IQueryable<T> source, PageQuery page, CancellationToken cancellationToken)
        where T : class, ICreatedEntity
    {
        var window = source.ApplyWindow(page);
        var total = await window.LongCountAsync(cancellationToken);
        var rows = await window.ApplySortAndPage(page).ToListAsync(cancellationToken);
        return (rows, page.Paginate(total));
    }

    public static IQueryable<T> ApplySortAndPage<T>(this IQueryable<T> source, PageQuery page) where T : class, ICreatedEntity
    {
        // Ids are time-sortable, so they break ties between equal timestamps deterministically.
        var sorted = page.Descending
            ? source.OrderByDescending(e => e.CreatedAt).ThenByDescending(e => e.Id)
            : source.OrderBy(e => e.CreatedAt).ThenBy(e => e.Id);
        return sorted.Skip(page.Offset).Take(page.Limit);
    }
}

/// <summary>An entity with an id and a creation time, which every list sorts and filters on.</summary>
public interface ICreatedEntity
{
    string Id { get; }
    DateTime CreatedAt { get; }
}
