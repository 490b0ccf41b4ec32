namespace Gatehouse.Server.Platform.Http;

/// <summary>
/// The paging and filter parameters shared by every list (API.md §1): <c>limit</c>, <c>offset</c>
/// or <c>page</c>, <c>start</c>/<c>end</c> on creation time, <c>sort=createdAt|-createdAt</c>.
/// Bad values are rejected, never clamped.
/// </summary>
public sealed record PageQuery(int Limit, int Offset, DateTime? Start, DateTime? End, bool Descending)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public int Page => Offset / Limit + 1;

    public Pagination Paginate(long total) => new(total, Limit, Offset, Page, Offset + Limit < total);

    public static bool TryParse(IQueryCollection query, out PageQuery page, out ApiError? error)
    {
        page = new PageQuery(DefaultLimit, 0, null, null, Descending: true);
        error = null;
        var limit = DefaultLimit;
        if (query.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, out limit) || limit is < 1 or > MaxLimit))
        {
            error = Bad("limit", $"must be an integer from 1 to {MaxLimit}");
            return false;
        }

        var offset = 0;
        if (query.TryGetValue("offset", out var offsetText) && (!int.TryParse(offsetText, out offset) || offset < 0))
        {
            error = Bad("offset", "must be an integer ≥ 0");
            return false;
        }

        if (query.TryGetValue("page", out var pageText))
        {
            if (!int.TryParse(pageText, out var pageNumber) || pageNumber < 1 || (long)(pageNumber - 1) * limit > int.MaxValue)
            {
                error = Bad("page", "must be an integer ≥ 1");
                return false;
            }

            if (query.ContainsKey("offset"))
            {
                error = Bad("page", "cannot be combined with offset");
                return false;
            }

            offset = (pageNumber - 1) * limit;
        }

        if (!TryParseTime(query, "start", out var start, out error) || !TryParseTime(query, "end", out var end, out error))
        {
            return false;
        }

        if (start is not null && end is not null && start > end)
        {
            error = Bad("start", "must not be after end");
            return false;
        }

        var descending = true;
        if (query.TryGetValue("sort", out var sort))
        {
            switch (sort.ToString())
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

    public static bool TryParseTime(IQueryCollection query, string name, out DateTime? value, out ApiError? error)
    {
        value = null;
        error = null;
        if (!query.TryGetValue(name, out var text))
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

    public static bool TryParseBool(IQueryCollection query, string name, out bool? value, out ApiError? error)
    {
        value = null;
        error = null;
        if (!query.TryGetValue(name, out var text))
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
