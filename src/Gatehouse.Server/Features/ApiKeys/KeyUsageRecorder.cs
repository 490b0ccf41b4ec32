using System.Collections.Concurrent;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// Buffers verification outcomes and <c>lastUsedAt</c> in memory and writes them in batches, so a
/// verify never waits for an analytics write. A flush runs every few seconds, before usage and
/// stats are read (so a reader sees every verification that was answered before it), and on shutdown.
/// </summary>
public sealed class KeyUsageRecorder(IServiceScopeFactory scopes, JobRegistry jobs, TimeProvider clock, ILogger<KeyUsageRecorder> logger)
{
    public const string JobName = "key-usage-flush";

    /// <summary>Above this many buffered events new ones are dropped (and counted) rather than exhausting memory.</summary>
    public const int MaxBuffered = 1_000_000;

    private readonly ConcurrentQueue<UsageEvent> _events = new();
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private long _dropped;

    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Counts one verification outcome (none when <paramref name="code"/> is null: an API call
    /// authenticated by the key is a use, not a verification); <paramref name="used"/> also moves
    /// the key's <c>lastUsedAt</c>.
    /// </summary>
    public void Record(string orgId, string keyId, string? code, DateTime at, bool used)
    {
        if (_events.Count >= MaxBuffered)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        _events.Enqueue(new UsageEvent(orgId, keyId, code, at, used));
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushGate.WaitAsync(cancellationToken);
        var drained = new List<UsageEvent>();
        try
        {
            var counts = new Dictionary<(string KeyId, long Bucket, string Code), (string OrgId, long Count)>();
            var lastUsed = new Dictionary<string, DateTime>(StringComparer.Ordinal);
            while (_events.TryDequeue(out var e))
            {
                drained.Add(e);
                var bucket = e.At.Ticks / TimeSpan.TicksPerHour * 3600 - DateTime.UnixEpoch.Ticks / TimeSpan.TicksPerSecond;
                if (e.Code is not null)
                {
                    var slot = (e.KeyId, bucket, e.Code);
                    counts[slot] = counts.TryGetValue(slot, out var c) ? (c.OrgId, c.Count + 1) : (e.OrgId, 1);
                }

                if (e.Used && (!lastUsed.TryGetValue(e.KeyId, out var seen) || seen < e.At))
                {
                    lastUsed[e.KeyId] = e.At;
                }
            }

            if (counts.Count == 0 && lastUsed.Count == 0)
            {
                return;
            }

            await WriteAsync(counts, lastUsed, cancellationToken);
            jobs.ReportRun(JobName, succeeded: true, clock.GetUtcNow().UtcDateTime, _events.Count);
        }
        catch (Exception ex)
        {
            // Nothing was committed (one transaction): put the events back for the next flush.
            foreach (var e in drained)
            {
                _events.Enqueue(e);
            }

            if (ex is not OperationCanceledException)
            {
                jobs.ReportRun(JobName, succeeded: false, clock.GetUtcNow().UtcDateTime, _events.Count);
                logger.LogError(ex, "Writing key usage failed; the counts are kept for the next flush");
            }

            throw;
        }
        finally
        {
            _flushGate.Release();
        }
    }

    private async Task WriteAsync(
        Dictionary<(string KeyId, long Bucket, string Code), (string OrgId, long Count)> counts, Dictionary<string, DateTime> lastUsed, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        // Multi-row statements, a few hundred rows each: a flush after a busy interval touches
        // thousands of keys, and one statement per key would cost more than the verifies themselves.
        // The same SQL runs on both providers (upsert: SQLite ≥ 3.24, PostgreSQL ≥ 9.5; UPDATE … FROM: SQLite ≥ 3.33).
        foreach (var chunk in counts.Chunk(200))
        {
            var sql = new System.Text.StringBuilder("INSERT INTO api_key_usage (key_id, org_id, bucket, code, count) VALUES ");
            var parameters = new List<object>(chunk.Length * 5);
            foreach (var ((keyId, bucket, code), (orgId, count)) in chunk)
            {
                var n = parameters.Count;
                sql.Append(n == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"({{{n}}}, {{{n + 1}}}, {{{n + 2}}}, {{{n + 3}}}, {{{n + 4}}})");
                parameters.AddRange([keyId, orgId, bucket, code, count]);
            }

            sql.Append(" ON CONFLICT (key_id, bucket, code) DO UPDATE SET count = api_key_usage.count + excluded.count");
            await db.Database.ExecuteSqlRawAsync(sql.ToString(), parameters, cancellationToken);
        }

        foreach (var chunk in lastUsed.Chunk(400))
        {
            var sql = new System.Text.StringBuilder("WITH v (id, at) AS (VALUES ");
            var parameters = new List<object>(chunk.Length * 2);
            foreach (var (keyId, at) in chunk)
            {
                var n = parameters.Count;
                sql.Append(n == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"({{{n}}}, {{{n + 1}}})");
                parameters.AddRange([keyId, at]);
            }

            sql.Append(") UPDATE api_keys SET last_used_at = v.at FROM v WHERE api_keys.id = v.id AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.at)");
            await db.Database.ExecuteSqlRawAsync(sql.ToString(), parameters, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private readonly record struct UsageEvent(string OrgId, string KeyId, string? Code, DateTime At, bool Used);
}

/// <summary>The background job that flushes <see cref="KeyUsageRecorder"/> every few seconds and once more on shutdown.</summary>
internal sealed class KeyUsageFlushService(KeyUsageRecorder recorder, JobRegistry jobs, TimeProvider clock, ILogger<KeyUsageFlushService> logger) : BackgroundService
{
    // Each flush writes one row per key touched since the last one: at 30 s a busy key costs one write per 30 s, not six.
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        jobs.Register(KeyUsageRecorder.JobName);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await recorder.FlushAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Reported and logged by the recorder; the next tick retries with whatever is buffered then.
                    logger.LogDebug("Key usage flush will be retried");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the final flush is in StopAsync.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await recorder.FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("The final key usage flush failed; buffered counts are lost");
        }
    }
}
