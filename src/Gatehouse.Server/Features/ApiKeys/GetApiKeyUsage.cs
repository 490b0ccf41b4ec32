using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

public static class GetApiKeyUsage
{
    public const int MaxBuckets = 1000;

    /// <summary>
    /// <c>granularity</c> hour (default; window default the last 24 h) or day (default the last 30 days).
    /// Buckets are aligned to UTC hours/days, every bucket of the window is listed (zeros included).
    /// </summary>
    public static async Task<Results<ApiOk<ApiKeyUsageView>, ApiError>> Handle(
        string orgId, string keyId, [FromQuery(Name = "granularity")] string? granularityText, [FromQuery(Name = "start")] string? startText, [FromQuery(Name = "end")] string? endText, GatehouseDb db, KeyUsageRecorder usage, TimeProvider clock, CancellationToken cancellationToken)
    {
        var granularity = granularityText ?? "hour";
        if (granularity is not ("hour" or "day"))
        {
            return PageQuery.Bad("granularity", "must be hour or day");
        }

        if (!PageQuery.TryParseTime("start", startText, out var start, out var error) || !PageQuery.TryParseTime("end", endText, out var end, out error))
        {
            return error!;
        }

        var step = granularity == "hour" ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);
        var now = clock.GetUtcNow().UtcDateTime;
        var to = end ?? now;
        var from = start ?? to - (granularity == "hour" ? TimeSpan.FromHours(24) : TimeSpan.FromDays(30));
        if (from > to)
        {
            return PageQuery.Bad("start", "must not be after end");
        }

        var first = Floor(from, step);
        var count = (Floor(to, step) - first).Ticks / step.Ticks + 1;
        if (count > MaxBuckets)
        {
            return PageQuery.Bad("start", $"and end span more than {MaxBuckets} buckets of one {granularity}");
        }

        if (!await db.Owned<ApiKey>(orgId).AnyAsync(k => k.Id == keyId, cancellationToken))
        {
            return ApiError.NotFound("API key");
        }

        // Everything answered before this request is counted: write what is buffered first.
        await usage.FlushAsync(cancellationToken);
        var fromBucket = ToUnix(Floor(from, TimeSpan.FromHours(1)));
        var toBucket = ToUnix(to);
        var rows = await db.Owned<ApiKeyUsage>(orgId).AsNoTracking()
            .Where(u => u.KeyId == keyId && u.Bucket >= fromBucket && u.Bucket <= toBucket)
            .ToListAsync(cancellationToken);

        var buckets = new SortedDictionary<DateTime, SortedDictionary<string, long>>();
        for (var i = 0; i < count; i++)
        {
            buckets[first + step * i] = new SortedDictionary<string, long>(StringComparer.Ordinal);
        }

        var totals = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var at = Floor(DateTime.UnixEpoch.AddSeconds(row.Bucket), step);
            if (buckets.TryGetValue(at, out var codes))
            {
                codes[row.Code] = codes.GetValueOrDefault(row.Code) + row.Count;
                totals[row.Code] = totals.GetValueOrDefault(row.Code) + row.Count;
            }
        }

        return new ApiOk<ApiKeyUsageView>(new ApiKeyUsageView(keyId, granularity, from, to, totals,
            [.. buckets.Select(b => new UsageBucket(b.Key, b.Value.Values.Sum(), b.Value))]));
    }

    private static DateTime Floor(DateTime value, TimeSpan step) => new(value.Ticks - value.Ticks % step.Ticks, DateTimeKind.Utc);

    private static long ToUnix(DateTime value) => (value.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond;
}
