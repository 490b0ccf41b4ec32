using Gatehouse.Server.Platform.Jobs;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Npgsql;

namespace Gatehouse.Server.Platform.Cluster;

/// <summary>A change another node committed: the audit action it recorded, in which organization, on what.</summary>
public sealed record ClusterChange(string Action, string? OrgId, string? TargetId);

/// <summary>A row of <c>cluster_changes</c>: written with raw SQL by <see cref="ChangeFeedWriter"/>, mapped for pruning and the schema check.</summary>
public sealed class ClusterChangeRecord
{
    public long Seq { get; init; }
    public required string Node { get; init; }
    public required string Action { get; init; }
    public string? OrgId { get; init; }
    public string? TargetId { get; init; }
    public DateTime CreatedAt { get; init; }
}

internal sealed class ClusterChangeRecordMapping : IEntityTypeConfiguration<ClusterChangeRecord>
{
    public void Configure(EntityTypeBuilder<ClusterChangeRecord> builder)
    {
        builder.ToTable("cluster_changes");
        builder.HasKey(c => c.Seq);
    }
}

/// <summary>
/// Drops what this node holds in memory about changes other nodes made: a feature whose cache
/// answers a decision (keys, sessions, OAuth clients, organizations) declares one. Its own node's
/// changes are evicted directly after their commit and never come here.
/// </summary>
public interface IClusterChangeHandler
{
    /// <summary>Changes other nodes committed, one poll's worth at a time (so a cache scanned once serves many).</summary>
    void Apply(IReadOnlyList<ClusterChange> changes);

    /// <summary>This node may have missed changes (its listener was away): forget everything a change could have made stale.</summary>
    void Reset();
}

/// <summary>
/// Writes every committed change's actions to <c>cluster_changes</c> and wakes the other nodes with
/// <c>pg_notify</c>, inside the change set's transaction: both happen on commit and never on a
/// rollback. PostgreSQL only: a SQLite database has one node.
/// </summary>
public sealed class ChangeFeedWriter(DatabaseTarget database, ChangeFeedListener listener) : IChangeSetParticipant
{
    public const string Channel = "gatehouse_changes";

    public async Task BeforeCommitAsync(GatehouseDb db, IReadOnlyList<RecordedAction> actions, CancellationToken cancellationToken)
    {
        if (database.Provider != DatabaseProvider.Postgres || actions.Count == 0)
        {
            return;
        }

        var names = new string[actions.Count];
        var orgs = new string?[actions.Count];
        var targets = new string?[actions.Count];
        for (var i = 0; i < actions.Count; i++)
        {
            names[i] = actions[i].Action.Name;
            orgs[i] = actions[i].OrgId;
            targets[i] = actions[i].TargetId;
        }

        // One round trip: the rows, then the wake-up (delivered only when this transaction commits).
        await db.Database.ExecuteSqlRawAsync(
            "INSERT INTO cluster_changes (node, action, org_id, target_id, created_at) "
            + "SELECT @node, x.action, x.org_id, x.target_id, clock_timestamp() FROM unnest(@actions, @orgs, @targets) AS x(action, org_id, target_id); "
            + $"SELECT pg_notify('{Channel}', '');",
            [
                new NpgsqlParameter("node", listener.Source),
                new NpgsqlParameter("actions", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { Value = names },
                new NpgsqlParameter("orgs", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { Value = orgs },
                new NpgsqlParameter("targets", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { Value = targets },
            ],
            cancellationToken);
    }
}

/// <summary>
/// Keeps this node's caches in step with the other nodes' commits (PostgreSQL only). One dedicated
/// connection LISTENs on <see cref="ChangeFeedWriter.Channel"/>; each notification, and a timer
/// every second in case one was missed, reads the new rows of <c>cluster_changes</c> and hands
/// them to every <see cref="IClusterChangeHandler"/>. Sequence numbers can commit out of order (and
/// a rolled-back transaction leaves a hole for ever), so a missing number is asked for again on the
/// next polls for a few seconds. While the connection is lost, every handler is reset each second:
/// nothing cached is older than a second until the listener is back.
/// </summary>
public sealed class ChangeFeedListener(DatabaseTarget database, IEnumerable<IClusterChangeHandler> handlers, TimeProvider clock, ILogger<ChangeFeedListener> logger)
    : BackgroundService, IMetricsSource
{
    /// <summary>How often the table is read when no notification came.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a missing sequence number is waited for: a transaction commits within moments of taking it, or rolled back.</summary>
    private static readonly TimeSpan GapPatience = TimeSpan.FromSeconds(5);

    private const int BatchSize = 5_000;
    private const int MaxGaps = 10_000;

    private readonly IClusterChangeHandler[] _handlers = [.. handlers];
    private readonly Dictionary<long, DateTime> _gaps = [];
    private long _highest;
    private int _notified;
    private long _applied;
    private long _resets;
    private long _lagMilliseconds;
    private volatile bool _listening;

    /// <summary>
    /// Names this server's rows in <c>cluster_changes</c>, so it skips its own changes (already
    /// evicted after their commit). The node id plus a random part: two servers in one process
    /// (the tests run several) are still two sources.
    /// </summary>
    public string Source { get; } = $"{ClusterNode.Id}:{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4))}";

    /// <summary>Whether the listener connection is up (reported by health and metrics).</summary>
    public bool Listening => _listening;

    public IReadOnlyList<MetricDeclaration> Metrics =>
    [
        new("gatehouse.cluster.changes_applied", MetricKind.Counter, "Other nodes' changes applied to this node's caches", () => [new(Interlocked.Read(ref _applied))]),
        new("gatehouse.cluster.cache_resets", MetricKind.Counter, "Times this node dropped its caches because it may have missed other nodes' changes", () => [new(Interlocked.Read(ref _resets))]),
        new("gatehouse.cluster.change_lag_ms", MetricKind.Gauge, "From another node's commit to this node applying it, for the last change applied", () => [new(Interlocked.Read(ref _lagMilliseconds))]),
        new("gatehouse.cluster.listening", MetricKind.Gauge, "1 while this node listens for other nodes' changes", () => [new(_listening ? 1 : 0)]),
    ];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (database.Provider != DatabaseProvider.Postgres)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (_listening)
                {
                    logger.LogWarning(ex, "Lost the listener for other nodes' changes; caches are dropped every second until it is back");
                }

                _listening = false;
            }

            // Away: whatever other nodes change now goes unseen, so nothing cached may outlive a second.
            ResetAll();
            await Task.Delay(PollInterval, clock, stoppingToken).ContinueWith(static _ => { }, TaskScheduler.Default);
        }
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString)
        {
            // Its own physical connection, outside the pool, noticed dead within seconds.
            Pooling = false,
            KeepAlive = 5,
            ApplicationName = "gatehouse-change-feed",
        };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(stoppingToken);
        connection.Notification += (_, _) => Volatile.Write(ref _notified, 1);
        await using (var listen = new NpgsqlCommand($"LISTEN {ChangeFeedWriter.Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken);
        }

        // Everything up to now is covered by dropping the caches once the listener is in place.
        await using (var highest = new NpgsqlCommand("SELECT coalesce(max(seq), 0) FROM cluster_changes", connection))
        {
            _highest = (long)(await highest.ExecuteScalarAsync(stoppingToken))!;
        }

        _gaps.Clear();
        ResetAll();
        _listening = true;
        logger.LogInformation("Listening for other nodes' changes from sequence {Sequence}", _highest);
        while (!stoppingToken.IsCancellationRequested)
        {
            Volatile.Write(ref _notified, 0);
            while (await PollAsync(connection, stoppingToken) == BatchSize)
            {
            }

            // A notification that arrived while polling may be for a commit the poll did not see yet.
            if (Volatile.Read(ref _notified) == 0)
            {
                await connection.WaitAsync(PollInterval, stoppingToken);
            }
        }
    }

    private async Task<int> PollAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var (sequence, noticed) in _gaps.ToList())
        {
            if (now - noticed > GapPatience)
            {
                _gaps.Remove(sequence);
            }
        }

        await using var command = new NpgsqlCommand(
            "SELECT seq, node, action, org_id, target_id, created_at FROM cluster_changes WHERE seq > @highest OR seq = ANY(@gaps) ORDER BY seq LIMIT @limit",
            connection);
        command.Parameters.AddWithValue("highest", _highest);
        command.Parameters.AddWithValue("gaps", _gaps.Keys.ToArray());
        command.Parameters.AddWithValue("limit", BatchSize);
        var changes = new List<ClusterChange>();
        var rows = 0;
        DateTime? newest = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows++;
                var sequence = reader.GetInt64(0);
                if (sequence > _highest)
                {
                    for (var missing = _highest + 1; missing < sequence && _gaps.Count < MaxGaps; missing++)
                    {
                        _gaps[missing] = now;
                    }

                    _highest = sequence;
                }
                else
                {
                    _gaps.Remove(sequence);
                }

                if (reader.GetString(1) != Source)
                {
                    changes.Add(new ClusterChange(reader.GetString(2),
                        await reader.IsDBNullAsync(3, cancellationToken) ? null : reader.GetString(3),
                        await reader.IsDBNullAsync(4, cancellationToken) ? null : reader.GetString(4)));
                    newest = reader.GetDateTime(5);
                }
            }
        }

        if (changes.Count > 0)
        {
            Apply(changes);
            Interlocked.Exchange(ref _lagMilliseconds, (long)Math.Max(0, (clock.GetUtcNow().UtcDateTime - newest!.Value).TotalMilliseconds));
        }

        return rows;
    }

    private void Apply(List<ClusterChange> changes)
    {
        foreach (var handler in _handlers)
        {
            try
            {
                handler.Apply(changes);
            }
            catch (Exception ex)
            {
                // A handler that cannot apply precisely falls back to forgetting everything.
                logger.LogError(ex, "{Handler} failed to apply other nodes' changes; resetting it", handler.GetType().Name);
                handler.Reset();
            }
        }

        Interlocked.Add(ref _applied, changes.Count);
    }

    private void ResetAll()
    {
        foreach (var handler in _handlers)
        {
            handler.Reset();
        }

        Interlocked.Increment(ref _resets);
    }
}

/// <summary>Deletes <c>cluster_changes</c> rows every node has long read. Hourly, on one node.</summary>
public sealed class ChangeFeedPrune(IServiceScopeFactory scopes, DatabaseTarget database, JobRunner runner, JobRegistry jobs, TimeProvider clock, ILogger<ChangeFeedPrune> logger)
    : PeriodicJob(runner, jobs, clock, logger)
{
    /// <summary>Far longer than any listener lags: one that falls further behind resets its caches anyway.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    public override string Name => "cluster-change-prune";

    public override string Description => "Deletes the record of cross-node cache invalidations once every node has read it (after an hour).";

    public override TimeSpan Interval => TimeSpan.FromHours(1);

    public override bool Scheduled => database.Provider == DatabaseProvider.Postgres;

    public override async Task<JobPass> RunPassAsync(JobPassContext pass, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        var before = Clock.GetUtcNow().UtcDateTime - Retention;
        var deleted = await db.Set<ClusterChangeRecord>().Where(c => c.CreatedAt < before).ExecuteDeleteAsync(cancellationToken);
        return new JobPass(Succeeded: true, DidWork: deleted > 0);
    }
}
