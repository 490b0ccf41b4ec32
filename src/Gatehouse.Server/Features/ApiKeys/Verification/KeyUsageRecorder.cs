using System.Collections.Concurrent;
using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// Counts verification outcomes and <c>lastUsedAt</c> in memory and writes them in batches, so a
/// verify never waits for an analytics write. Outcomes are summed per key as they happen (one small
/// cell per key touched), so memory grows with the number of keys in use, not with the request rate,
/// and a flush writes one row per key and outcome. The background flush runs on a low-priority
/// thread and writes in small transactions spread over half its interval, so a busy interval's
/// thousands of rows never take the CPU from verifies in one block; a read of usage or stats
/// flushes everything first, so a reader sees every verification answered before it; shutdown
/// flushes too.
/// </summary>
public sealed class KeyUsageRecorder(IServiceScopeFactory scopes, JobRegistry jobs, TimeProvider clock, ILogger<KeyUsageRecorder> logger)
{
    public const string JobName = "key-usage-flush";

    /// <summary>Keys written per transaction.</summary>
    public const int BatchSize = 250;

    // Sized for as many keys as the key cache holds: growing the table rehashes every cell (new
    // nodes included) under all of its locks, a stall of tens of milliseconds for every verify
    // once tens of thousands of keys are in use (docs/performance.md). It still grows past that.
    private readonly ConcurrentDictionary<(string OrgId, string KeyId), UsageCell> _cells = new(Environment.ProcessorCount, KeyRecordCache.MaxEntries);
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
            await _flushGate.WaitAsync(cancellationToken);
            try
            {
                var cells = CellsInKeyOrder();
                var written = 0;
                for (var start = 0; start < cells.Count; start += BatchSize)
                {
                    written += await WriteBatchOrRestoreAsync(TakeBatch(cells, start), synchronous: false, cancellationToken);
                }

                ReportSuccess(written, TimeSpan.Zero);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                ReportFailure(ex);
                throw;
            }
            finally
            {
                _flushGate.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waitingReaders);
        }
    }

    /// <summary>
    /// The background flush, run on the calling (low-priority) thread: everything counted so far,
    /// its batches spread over <paramref name="spreadOver"/> so the writes are a light steady load
    /// rather than a burst that delays verifies. It sleeps between batches rather than awaiting, so
    /// the work stays on this thread (SQLite calls complete synchronously).
    /// </summary>
    internal void FlushOnCurrentThread(TimeSpan spreadOver, CancellationToken cancellationToken)
    {
        _flushGate.Wait(cancellationToken);
        try
        {
            var cells = CellsInKeyOrder();
            var batches = (cells.Count + BatchSize - 1) / BatchSize;
            var pause = batches == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Clamp(spreadOver.Ticks / batches, MinPause.Ticks, MaxPause.Ticks));
            var written = 0;
            for (var start = 0; start < cells.Count; start += BatchSize)
            {
                // Real time, not the injectable clock: this only leaves the CPU to requests for a while.
                // Cells not taken yet keep their counts for the next flush.
                if (start > 0 && Volatile.Read(ref _waitingReaders) == 0 && cancellationToken.WaitHandle.WaitOne(pause))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                // Synchronous I/O: completed on this thread, already done when the task returns. With
                // asynchronous calls, Npgsql ran the rest of each batch on pool threads at normal
                // priority, competing with verifies; SQLite's calls complete synchronously anyway.
                var write = WriteBatchOrRestoreAsync(TakeBatch(cells, start), synchronous: true, cancellationToken);
                written += write.GetAwaiter().GetResult();
            }

            ReportSuccess(written, pause);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ReportFailure(ex);
            throw;
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <summary>
    /// The cells to flush, in key order: ids are time-ordered and so is the table, so a batch
    /// touches a run of neighbouring pages instead of one page per key all over the file. Read
    /// without locks, so a flush never holds up a request adding a cell.
    /// </summary>
    private List<KeyValuePair<(string OrgId, string KeyId), UsageCell>> CellsInKeyOrder()
    {
        var cells = new List<KeyValuePair<(string OrgId, string KeyId), UsageCell>>(_cells.Count);
        foreach (var pair in _cells)
        {
            cells.Add(pair);
        }

        cells.Sort(static (a, b) => string.CompareOrdinal(a.Key.KeyId, b.Key.KeyId));
        return cells;
    }

    /// <summary>
    /// Empties the cells of one batch (retiring those idle since the last flush) just before it is
    /// written. Taking every cell at the start of a flush kept all the counts alive for the whole
    /// paced flush, so they were promoted to the old generation: in the load run, the first second
    /// of verifies after a flush spent 190 ms in GC pauses (at most 14 ms per second since).
    /// </summary>
    private List<UsageSnapshot> TakeBatch(List<KeyValuePair<(string OrgId, string KeyId), UsageCell>> cells, int start)
    {
        var taken = new List<UsageSnapshot>(BatchSize);
        for (var i = start; i < Math.Min(start + BatchSize, cells.Count); i++)
        {
            var (id, cell) = cells[i];
            if (cell.TakeOrRetire(id.OrgId, id.KeyId) is { } snapshot)
            {
                taken.Add(snapshot);
            }
            else
            {
                // Idle since the last flush: forget it (only this exact cell, a new one may have replaced it).
                _cells.TryRemove(new KeyValuePair<(string, string), UsageCell>(id, cell));
            }
        }

        return taken;
    }

    private async Task<int> WriteBatchOrRestoreAsync(List<UsageSnapshot> batch, bool synchronous, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return 0;
        }

        try
        {
            await WriteAsync(batch, synchronous, cancellationToken);
            return batch.Count;
        }
        catch
        {
            // Nothing of this batch was committed (one transaction), and later batches were not
            // taken: give this batch's counts back for the next flush.
            Restore(batch);
            throw;
        }
    }

    private void ReportSuccess(int keys, TimeSpan pause)
    {
        if (keys > 0)
        {
            jobs.ReportRun(JobName, succeeded: true, clock.GetUtcNow().UtcDateTime, _cells.Count);
            logger.LogDebug("Wrote the usage of {Keys} keys, {Pause} ms between batches", keys, (long)pause.TotalMilliseconds);
        }
    }

    private void ReportFailure(Exception ex)
    {
        jobs.ReportRun(JobName, succeeded: false, clock.GetUtcNow().UtcDateTime, _cells.Count);
        logger.LogError(ex, "Writing key usage failed; the counts are kept for the next flush");
    }

    // Between two batches: at least long enough for queued requests to run, at most a second.
    private static readonly TimeSpan MinPause = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(1);

    private void Restore(IEnumerable<UsageSnapshot> snapshots)
    {
        foreach (var snapshot in snapshots)
        {
            while (!_cells.GetOrAdd((snapshot.OrgId, snapshot.KeyId), static _ => new UsageCell()).TryRestore(snapshot))
            {
            }
        }
    }

    /// <summary>
    /// One batch in one transaction, two statements whatever its size: every row travels in one
    /// parameter (a JSON array read by <c>json_each</c> on SQLite, arrays read by <c>unnest</c> on
    /// PostgreSQL). Not one parameter per value: SQLite finds each named parameter by a linear scan,
    /// so binding grows with the square of a statement's parameters — it made the flush CPU-bound.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1849:Call async methods when in an async method",
        Justification = "The background flush blocks its own low-priority thread on purpose, so the work is not moved to pool threads at normal priority.")]
    private async Task WriteAsync(List<UsageSnapshot> batch, bool synchronous, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        await using var transaction = synchronous ? db.Database.BeginTransaction() : await db.Database.BeginTransactionAsync(cancellationToken);
        var connection = db.Database.GetDbConnection();
        var counts = batch.SelectMany(s => s.Counts.Select(c => (KeyId: StoredKeyId(s), s.OrgId, c.Bucket, c.Code, c.Count))).ToList();
        var used = batch.Where(s => s.LastUsedTicks > 0 && s.KeyId.Length > 0).Select(s => (s.KeyId, At: new DateTime(s.LastUsedTicks, DateTimeKind.Utc))).ToList();
        var postgres = db.IsPostgres;

        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction.GetDbTransaction();
            if (counts.Count > 0)
            {
                if (postgres)
                {
                    command.CommandText = "INSERT INTO api_key_usage (key_id, org_id, bucket, code, count) SELECT * FROM unnest(@keys, @orgs, @buckets, @codes, @counts)"
                        + " ON CONFLICT (key_id, bucket, code) DO UPDATE SET count = api_key_usage.count + excluded.count";
                    AddParameter(command, "@keys", counts.Select(c => c.KeyId).ToArray());
                    AddParameter(command, "@orgs", counts.Select(c => c.OrgId).ToArray());
                    AddParameter(command, "@buckets", counts.Select(c => c.Bucket).ToArray());
                    AddParameter(command, "@codes", counts.Select(c => c.Code).ToArray());
                    AddParameter(command, "@counts", counts.Select(c => c.Count).ToArray());
                }
                else
                {
                    // WHERE true: SQLite needs it to read ON CONFLICT after INSERT … SELECT … FROM.
                    command.CommandText = "INSERT INTO api_key_usage (key_id, org_id, bucket, code, count)"
                        + " SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4 FROM json_each(@rows) AS r WHERE true"
                        + " ON CONFLICT (key_id, bucket, code) DO UPDATE SET count = api_key_usage.count + excluded.count";
                    AddParameter(command, "@rows", JsonRows(counts, (writer, c) =>
                    {
                        writer.WriteStringValue(c.KeyId);
                        writer.WriteStringValue(c.OrgId);
                        writer.WriteNumberValue(c.Bucket);
                        writer.WriteStringValue(c.Code);
                        writer.WriteNumberValue(c.Count);
                    }));
                }

                await ExecuteAsync(command, synchronous, cancellationToken);
            }

            if (used.Count > 0)
            {
                command.Parameters.Clear();
                if (postgres)
                {
                    command.CommandText = "UPDATE api_keys SET last_used_at = v.at FROM unnest(@ids, @ats) AS v (id, at)"
                        + " WHERE api_keys.id = v.id AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.at)";
                    AddParameter(command, "@ids", used.Select(u => u.KeyId).ToArray());
                    AddParameter(command, "@ats", used.Select(u => u.At).ToArray());
                }
                else
                {
                    // Timestamps as the text EF Core and Microsoft.Data.Sqlite store, so they compare in order.
                    command.CommandText = "WITH v (id, at) AS (SELECT r.value ->> 0, r.value ->> 1 FROM json_each(@rows) AS r)"
                        + " UPDATE api_keys SET last_used_at = v.at FROM v WHERE api_keys.id = v.id AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < v.at)";
                    AddParameter(command, "@rows", JsonRows(used, (writer, u) =>
                    {
                        writer.WriteStringValue(u.KeyId);
                        writer.WriteStringValue(u.At.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", System.Globalization.CultureInfo.InvariantCulture));
                    }));
                }

                await ExecuteAsync(command, synchronous, cancellationToken);
            }
        }

        if (synchronous)
        {
            transaction.Commit();
        }
        else
        {
            await transaction.CommitAsync(cancellationToken);
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1849:Call async methods when in an async method",
        Justification = "See WriteAsync: synchronous for the background flush's low-priority thread.")]
    private static async Task ExecuteAsync(System.Data.Common.DbCommand command, bool synchronous, CancellationToken cancellationToken)
    {
        if (synchronous)
        {
            command.ExecuteNonQuery();
        }
        else
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The key_id a row is stored under. Outcomes without a key (NOT_FOUND) belong to the verifying
    /// organization; the table's key is (key_id, bucket, code), so they are stored under a key id of
    /// their own per organization — under one shared id, one organization's NOT_FOUND counts were
    /// added to another's row. (Rows written before this carry an empty key_id.)
    /// </summary>
    private static string StoredKeyId(UsageSnapshot snapshot) => snapshot.KeyId.Length > 0 ? snapshot.KeyId : "org:" + snapshot.OrgId;

    private static string JsonRows<T>(List<T> rows, Action<System.Text.Json.Utf8JsonWriter, T> writeRow)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(rows.Count * 96);
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var row in rows)
            {
                writer.WriteStartArray();
                writeRow(writer, row);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void AddParameter(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    /// <summary>What a flush takes out of one cell: counts per hour bucket and outcome, and the latest use (ticks, 0 = none).</summary>
    private sealed record UsageSnapshot(string OrgId, string KeyId, (long Bucket, string Code, long Count)[] Counts, long LastUsedTicks);

    /// <summary>
    /// The unwritten usage of one key. A cell the flush finds empty is retired and removed; a writer
    /// that still holds it sees the mark and takes a fresh cell, so no count is ever added to a cell
    /// that is gone.
    /// </summary>
    private sealed class UsageCell
    {
        private readonly Lock _gate = new();

        // The first count lives in the cell itself, the rest (another hour or outcome before the
        // flush) in a list made when needed: most keys count one outcome per flush, and a key's
        // first verify is usually a cache miss, which already leaves a record to be promoted.
        private string? _firstCode;
        private long _firstBucket;
        private long _firstCount;
        private List<(long Bucket, string Code, long Count)>? _moreCounts;
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
                if (_firstCode is null && _lastUsedTicks == 0)
                {
                    _retired = true;
                    return null;
                }

                // A copy for the flush, and the cell emptied in place: a cell lives as long as its
                // key is used, so a fresh list per flush was a young object held by an old one —
                // promoted at the next collection, for every key, every flush.
                (long, string, long)[] counts = _firstCode is null ? [] : [(_firstBucket, _firstCode, _firstCount), .. _moreCounts ?? []];
                var snapshot = new UsageSnapshot(orgId, keyId, counts, _lastUsedTicks);
                _firstCode = null;
                _moreCounts?.Clear();
                _lastUsedTicks = 0;
                return snapshot;
            }
        }

        private void Add(long bucket, string code, long count)
        {
            if (_firstCode is null)
            {
                (_firstBucket, _firstCode, _firstCount) = (bucket, code, count);
                return;
            }

            if (_firstBucket == bucket && string.Equals(_firstCode, code, StringComparison.Ordinal))
            {
                _firstCount += count;
                return;
            }

            var more = _moreCounts ??= [];
            for (var i = 0; i < more.Count; i++)
            {
                if (more[i].Bucket == bucket && string.Equals(more[i].Code, code, StringComparison.Ordinal))
                {
                    more[i] = (bucket, code, more[i].Count + count);
                    return;
                }
            }

            more.Add((bucket, code, count));
        }

        /// <summary>The hour the usage falls in, as Unix seconds (the bucket column).</summary>
        private static long Bucket(DateTime at) => (at.Ticks - at.Ticks % TimeSpan.TicksPerHour - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond;
    }
}

/// <summary>The background job that flushes <see cref="KeyUsageRecorder"/> every few seconds and once more on shutdown.</summary>
internal sealed class KeyUsageFlushService(KeyUsageRecorder recorder, JobRegistry jobs, TimeProvider clock, ApiKeysOptions options, DatabaseTarget database, ILogger<KeyUsageFlushService> logger) : BackgroundService
{
    // Each flush writes one row per key touched since the last one, so a longer interval means fewer writes per busy key.
    private readonly TimeSpan _interval = options.UsageFlushInterval(database.Provider);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        jobs.Register(KeyUsageRecorder.JobName);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// The flush runs on a thread of its own at the lowest CPU priority (Linux SCHED_IDLE, see
    /// <see cref="LowPriority"/>), so verifies always win the CPU and the writes fill the idle
    /// moments between them.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            LowPriority.ApplyToCurrentThread();
            try
            {
                Run(stoppingToken);
                finished.SetResult();
            }
            catch (Exception ex)
            {
                finished.SetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "usage-flush",
        };
        thread.Start();
        return finished.Task;
    }

    private void Run(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval, clock);
        try
        {
            while (timer.WaitForNextTickAsync(stoppingToken).AsTask().GetAwaiter().GetResult())
            {
                try
                {
                    recorder.FlushOnCurrentThread(_interval / 2, stoppingToken);
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

/// <summary>Background work that must never take the CPU from requests.</summary>
internal static partial class LowPriority
{
    private const int SchedIdle = 5;

    /// <summary>
    /// Moves the calling thread to Linux's SCHED_IDLE class (a thread is its own task there), or to
    /// nice 19 where that is refused; elsewhere nothing. Nice 19 is not enough: the EEVDF scheduler
    /// may let a running task finish its slice before a task that just woke takes the CPU, so a
    /// request arriving during a flush batch could wait for it. A SCHED_IDLE task is preempted at
    /// once by any normal one (docs/performance.md: the verify p99 at 32 connections went from
    /// 4.4–5.3 ms to 2.7–4.6 ms).
    /// </summary>
    public static void ApplyToCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            var thread = GetThreadId();
            var parameters = 0; // struct sched_param { int sched_priority; }: 0 for SCHED_IDLE
            if (SetScheduler(thread, SchedIdle, ref parameters) != 0)
            {
                _ = SetPriority(0 /* PRIO_PROCESS: with a thread id, that one thread */, thread, 19);
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc to ask: the work runs at normal priority.
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "sched_setscheduler")]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int SetScheduler(int pid, int policy, ref int parameters);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setpriority")]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int SetPriority(int which, int who, int priority);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int GetThreadId();
}
