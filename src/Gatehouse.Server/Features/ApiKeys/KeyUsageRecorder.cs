using System.Collections.Concurrent;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// Counts verification outcomes and <c>lastUsedAt</c> in memory and writes them in batches, so a
/// verify never waits for an analytics write. Outcomes are summed per key as they happen (one small
/// cell per key touched), so memory grows with the number of keys in use, not with the request rate,
/// and a flush writes one row per key and outcome. The background flush writes in small
/// transactions with a pause between them, so a busy interval's thousands of rows do not take the
/// CPU from verifies in one block; a read of usage or stats flushes everything first, so a reader
/// sees every verification answered before it; shutdown flushes too.
/// </summary>
public sealed class KeyUsageRecorder(IServiceScopeFactory scopes, JobRegistry jobs, TimeProvider clock, ILogger<KeyUsageRecorder> logger)
{
    public const string JobName = "key-usage-flush";

    /// <summary>Keys written per transaction.</summary>
    public const int BatchSize = 250;

    /// <summary>Rows per INSERT or UPDATE statement of a batch.</summary>
    private const int RowsPerStatement = 50;

    private readonly ConcurrentDictionary<(string OrgId, string KeyId), UsageCell> _cells = new();
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private int _waitingReaders;

    /// <summary>Keys with unwritten usage (an upper bound: cells are dropped by the flush after them).</summary>
    public int PendingKeys => _cells.Count;

    /// <summary>
    /// Counts one verification outcome (none when <paramref name="code"/> is null: an API call
    /// authenticated by the key is a use, not a verification); <paramref name="used"/> also moves
    /// the key's <c>lastUsedAt</c>. <paramref name="keyId"/> is empty for a key that was not found,
    /// counted for the verifying organization.
    /// </summary>
    public void Record(string orgId, string keyId, string? code, DateTime at, bool used)
    {
        while (!_cells.GetOrAdd((orgId, keyId), static _ => new UsageCell()).TryAdd(code, at, used))
        {
            // A flush retired this idle cell between the lookup and the add: take the new one.
        }
    }

    /// <summary>Writes everything counted so far, without pauses (a reader is waiting).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        // A reader waits for the flush: a paced flush in progress stops pausing.
        Interlocked.Increment(ref _waitingReaders);
        try
        {
            await FlushAsync(paced: false, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _waitingReaders);
        }
    }

    /// <summary>Writes everything counted so far; <paramref name="paced"/> pauses between batches (the background job).</summary>
    internal async Task FlushAsync(bool paced, CancellationToken cancellationToken)
    {
        await _flushGate.WaitAsync(cancellationToken);
        try
        {
            var batch = new List<UsageSnapshot>(BatchSize);
            var wrote = false;
            foreach (var (id, cell) in _cells)
            {
                if (cell.TakeOrRetire(id.OrgId, id.KeyId) is { } snapshot)
                {
                    batch.Add(snapshot);
                }
                else
                {
                    // Idle since the last flush: forget it (only this exact cell, a new one may have replaced it).
                    _cells.TryRemove(new KeyValuePair<(string, string), UsageCell>(id, cell));
                }

                if (batch.Count == BatchSize)
                {
                    await WriteOrRestoreAsync(batch, cancellationToken);
                    batch.Clear();
                    wrote = true;
                    if (paced && Volatile.Read(ref _waitingReaders) == 0)
                    {
                        await Task.Delay(PauseBetweenBatches, clock, cancellationToken);
                    }
                }
            }

            if (batch.Count > 0)
            {
                await WriteOrRestoreAsync(batch, cancellationToken);
                wrote = true;
            }

            if (wrote)
            {
                jobs.ReportRun(JobName, succeeded: true, clock.GetUtcNow().UtcDateTime, _cells.Count);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            jobs.ReportRun(JobName, succeeded: false, clock.GetUtcNow().UtcDateTime, _cells.Count);
            logger.LogError(ex, "Writing key usage failed; the counts are kept for the next flush");
            throw;
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <summary>A few milliseconds: long enough for queued requests to run between two batches.</summary>
    private static readonly TimeSpan PauseBetweenBatches = TimeSpan.FromMilliseconds(10);

    private async Task WriteOrRestoreAsync(List<UsageSnapshot> batch, CancellationToken cancellationToken)
    {
        try
        {
            await WriteAsync(batch, cancellationToken);
        }
        catch
        {
            // Nothing of this batch was committed (one transaction): give the counts back for the next flush.
            foreach (var snapshot in batch)
            {
                while (!_cells.GetOrAdd((snapshot.OrgId, snapshot.KeyId), static _ => new UsageCell()).TryRestore(snapshot))
                {
                }
            }

            throw;
        }
    }

    private async Task WriteAsync(List<UsageSnapshot> batch, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        // Multi-row statements: one statement per key would cost more than the verifies themselves.
        // Not larger ones: SQLite looks each named parameter up by a linear scan, so a statement's
        // binding cost grows with the square of its parameters (1 000 made the flush CPU-bound).
        // The same SQL runs on both providers (upsert: SQLite ≥ 3.24, PostgreSQL ≥ 9.5; UPDATE … FROM: SQLite ≥ 3.33).
        foreach (var chunk in batch.SelectMany(s => s.Counts.Select(c => (s.OrgId, s.KeyId, c.Bucket, c.Code, c.Count))).Chunk(RowsPerStatement))
        {
            var sql = new System.Text.StringBuilder("INSERT INTO api_key_usage (key_id, org_id, bucket, code, count) VALUES ");
            var parameters = new List<object>(chunk.Length * 5);
            foreach (var (orgId, keyId, bucket, code, count) in chunk)
            {
                var n = parameters.Count;
                sql.Append(n == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"({{{n}}}, {{{n + 1}}}, {{{n + 2}}}, {{{n + 3}}}, {{{n + 4}}})");
                parameters.AddRange([keyId, orgId, bucket, code, count]);
            }

            sql.Append(" ON CONFLICT (key_id, bucket, code) DO UPDATE SET count = api_key_usage.count + excluded.count");
            await db.Database.ExecuteSqlRawAsync(sql.ToString(), parameters, cancellationToken);
        }

        foreach (var used in batch.Where(s => s.LastUsedTicks > 0 && s.KeyId.Length > 0).Chunk(RowsPerStatement * 2))
        {
            var sql = new System.Text.StringBuilder("WITH v (id, at) AS (VALUES ");
            var parameters = new List<object>(used.Length * 2);
            foreach (var snapshot in used)
            {
                var n = parameters.Count;
                sql.Append(n == 0 ? "" : ", ").Append(System.Globalization.CultureInfo.InvariantCulture, $"({{{n}}}, {{{n + 1}}})");
                parameters.AddRange([snapshot.KeyId, new DateTime(snapshot.LastUsedTicks, DateTimeKind.Utc)]);
            }

            sql.Append(") UPDATE api_keys SET last_used_at = v.at FROM v WHERE api_keys.id = v.id AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.at)");
            await db.Database.ExecuteSqlRawAsync(sql.ToString(), parameters, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>What a flush takes out of one cell: counts per hour bucket and outcome, and the latest use (ticks, 0 = none).</summary>
    private sealed record UsageSnapshot(string OrgId, string KeyId, List<(long Bucket, string Code, long Count)> Counts, long LastUsedTicks);

    /// <summary>
    /// The unwritten usage of one key. A cell the flush finds empty is retired and removed; a writer
    /// that still holds it sees the mark and takes a fresh cell, so no count is ever added to a cell
    /// that is gone.
    /// </summary>
    private sealed class UsageCell
    {
        private readonly Lock _gate = new();
        private List<(long Bucket, string Code, long Count)> _counts = [];
        private long _lastUsedTicks;
        private bool _retired;

        public bool TryAdd(string? code, DateTime at, bool used)
        {
            lock (_gate)
            {
                if (_retired)
                {
                    return false;
                }

                if (code is not null)
                {
                    Add(Bucket(at), code, 1);
                }

                if (used && at.Ticks > _lastUsedTicks)
                {
                    _lastUsedTicks = at.Ticks;
                }

                return true;
            }
        }

        public bool TryRestore(UsageSnapshot snapshot)
        {
            lock (_gate)
            {
                if (_retired)
                {
                    return false;
                }

                foreach (var (bucket, code, count) in snapshot.Counts)
                {
                    Add(bucket, code, count);
                }

                _lastUsedTicks = Math.Max(_lastUsedTicks, snapshot.LastUsedTicks);
                return true;
            }
        }

        /// <summary>Takes what is counted, or retires the cell when nothing was counted since the last flush.</summary>
        public UsageSnapshot? TakeOrRetire(string orgId, string keyId)
        {
            lock (_gate)
            {
                if (_counts.Count == 0 && _lastUsedTicks == 0)
                {
                    _retired = true;
                    return null;
                }

                var snapshot = new UsageSnapshot(orgId, keyId, _counts, _lastUsedTicks);
                _counts = [];
                _lastUsedTicks = 0;
                return snapshot;
            }
        }

        private void Add(long bucket, string code, long count)
        {
            for (var i = 0; i < _counts.Count; i++)
            {
                if (_counts[i].Bucket == bucket && string.Equals(_counts[i].Code, code, StringComparison.Ordinal))
                {
                    _counts[i] = (bucket, code, _counts[i].Count + count);
                    return;
                }
            }

            _counts.Add((bucket, code, count));
        }

        /// <summary>The hour the usage falls in, as Unix seconds (the bucket column).</summary>
        private static long Bucket(DateTime at) => (at.Ticks - at.Ticks % TimeSpan.TicksPerHour - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond;
    }
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
                    await recorder.FlushAsync(paced: true, stoppingToken);
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
