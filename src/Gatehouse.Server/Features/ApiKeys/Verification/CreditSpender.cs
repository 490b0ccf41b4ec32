using System.Data.Common;
using System.Globalization;
using System.Threading.Channels;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Observability;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Gatehouse.Server.Features.ApiKeys;

/// <summary>
/// Spends usage credits: one conditional <c>UPDATE … WHERE remaining &gt;= cost</c> per verify,
/// atomic on both databases, so the balance never goes below zero and no credit is spent twice.
/// <para>
/// On SQLite the spends are group-committed. SQLite has one writer and, with
/// <c>synchronous=FULL</c>, an fsync per commit, so one transaction per verify made concurrent
/// verifies queue for the write lock (and sleep in its busy handler) one fsync each. Here spends
/// queue in memory instead; one writer takes everything waiting (up to <see cref="MaxBatch"/>),
/// runs each spend's own statement in one transaction, commits once, and only then answers every
/// verify of the batch. Each spend is still decided by its own statement, in arrival order; what
/// is shared is the commit, so an answer is still given only once its spend is durable. If the
/// batch fails, nothing of it is committed, and each of its spends is tried again alone, so only
/// the spend that fails is answered with the error.
/// </para>
/// <para>On PostgreSQL each spend is its own statement: the server already groups concurrent commits.</para>
/// </summary>
public sealed class CreditSpender(IServiceScopeFactory scopes, DatabaseTarget database) : IAsyncDisposable, IDisposable, IMetricsSource
{
    /// <summary>At most this many spends share a commit: bounds how long one transaction holds the write lock.</summary>
    public const int MaxBatch = 256;

    private const string SpendSql = "UPDATE api_keys SET remaining = remaining - @cost WHERE id = @id AND remaining >= @cost RETURNING remaining";
    private const string BalanceSql = "SELECT remaining FROM api_keys WHERE id = @id";

    private readonly Channel<PendingSpend> _queue = Channel.CreateUnbounded<PendingSpend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _start = new();
    private Task? _writer;
    private long _spends;
    private long _commits;

    /// <summary>Spends decided (spent or refused for want of credits), on either database.</summary>
    public long Spends => Interlocked.Read(ref _spends);

    /// <summary>Transactions those spends were committed in: fewer than the spends when they shared commits.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>
    /// Spends <paramref name="cost"/> credits of the key if it has them. Returns whether it did and
    /// the balance after (the unchanged balance when it did not; null when the key has no balance
    /// or is gone).
    /// </summary>
    public async Task<(bool Spent, long? Remaining)> SpendAsync(string keyId, long cost, CancellationToken cancellationToken)
    {
        if (database.Provider == DatabaseProvider.Postgres)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var connection = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync(cancellationToken);
            try
            {
                await using var spend = new SpendCommands(connection, transaction: null);
                var result = await spend.RunAsync(keyId, cost, cancellationToken);
                Counted(spends: 1);
                return result;
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        }

        var pending = new PendingSpend(keyId, cost, cancellationToken);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new OperationCanceledException("The server is shutting down.");
        }

        EnsureWriter();
        // A spend already in a committing batch stays spent if the caller gives up waiting, as
        // with any write that had reached the database; one still queued is skipped.
        return await pending.Result.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// A spend for a request sent with an <c>Idempotency-Key</c>: the spend and the record's
    /// committed mark share one transaction, outside the group commit. If the node dies after it
    /// commits, a retry answers 409 <c>response_lost</c> instead of spending again; if another node
    /// took the record over meanwhile, nothing is spent and the request answers 409. A refused spend
    /// changes nothing, so it leaves the record free to run again.
    /// </summary>
    public async Task<(bool Spent, long? Remaining)> SpendOnceAsync(string keyId, long cost, IdempotencyClaim claim, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        (bool Spent, long? Remaining) result;
        await using (var spend = new SpendCommands(db.Database.GetDbConnection(), transaction.GetDbTransaction()))
        {
            result = await spend.RunAsync(keyId, cost, cancellationToken);
        }

        if (result.Spent)
        {
            await IdempotencyCommitMark.MarkAsync(db, claim, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            claim.Committed = true;
        }

        Counted(spends: 1);
        return result;
    }

    private void EnsureWriter()
    {
        if (Volatile.Read(ref _writer) is not null)
        {
            return;
        }

        lock (_start)
        {
            if (_writer is null)
            {
                // Not with the first verify's execution context: the writer outlives that request,
                // and must not keep its HttpContext, log scope or trace alive.
                using (ExecutionContext.SuppressFlow())
                {
                    _writer = Task.Run(WriteLoopAsync);
                }
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<PendingSpend>(MaxBatch);
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var pending))
            {
                if (pending.Cancellation.IsCancellationRequested)
                {
                    pending.Result.TrySetCanceled(pending.Cancellation);
                }
                else
                {
                    batch.Add(pending);
                }
            }

            if (batch.Count > 0)
            {
                await CommitAsync(batch);
            }
        }
    }

    private async Task CommitAsync(List<PendingSpend> batch)
    {
        var results = new (bool Spent, long? Remaining)[batch.Count];
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var connection = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync();
            try
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await using (var spend = new SpendCommands(connection, transaction))
                {
                    for (var i = 0; i < batch.Count; i++)
                    {
                        results[i] = await spend.RunAsync(batch[i].KeyId, batch[i].Cost, CancellationToken.None);
                    }
                }

                await transaction.CommitAsync();
                Counted(spends: batch.Count);
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        }
        catch (Exception)
        {
            // Rolled back, so nothing of the batch was spent. One spend's failure must not fail the
            // others: each is tried again on its own, as if it had never been batched.
            await CommitEachAsync(batch);
            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Result.TrySetResult(results[i]);
        }
    }

    private async Task CommitEachAsync(List<PendingSpend> batch)
    {
        foreach (var pending in batch)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
                await db.Database.OpenConnectionAsync();
                try
                {
                    await using var spend = new SpendCommands(db.Database.GetDbConnection(), transaction: null);
                    var result = await spend.RunAsync(pending.KeyId, pending.Cost, CancellationToken.None);
                    Counted(spends: 1);
                    pending.Result.TrySetResult(result);
                }
                finally
                {
                    await db.Database.CloseConnectionAsync();
                }
            }
            catch (Exception ex)
            {
                pending.Result.TrySetException(ex);
            }
        }
    }

    private void Counted(int spends)
    {
        Interlocked.Add(ref _spends, spends);
        Interlocked.Increment(ref _commits);
    }

    public IReadOnlyList<MetricDeclaration> Metrics =>
    [
        new("gatehouse.credit.spends", MetricKind.Counter, "Usage-credit spends decided by verify (spent or refused)", () => [new(Spends)]),
        new("gatehouse.credit.commits", MetricKind.Counter, "Transactions the credit spends were committed in (SQLite groups concurrent spends into one)", () => [new(Commits)]),
    ];

    public async ValueTask DisposeAsync()
    {
        // Spends already queued are still written; new ones are refused.
        _queue.Writer.TryComplete();
        if (Volatile.Read(ref _writer) is { } writer)
        {
            await writer;
        }
    }

    /// <summary>For a container disposed synchronously: the same drain, waited for.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private sealed record PendingSpend(string KeyId, long Cost, CancellationToken Cancellation)
    {
        // Answered off the writer's thread: a verify's continuation must not hold up the next batch.
        public TaskCompletionSource<(bool Spent, long? Remaining)> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The spend statement and the balance read that explains a refusal, prepared once per batch.</summary>
    private sealed class SpendCommands : IAsyncDisposable
    {
        private readonly DbCommand _spend;
        private readonly DbCommand _balance;
        private readonly DbParameter _spendCost;
        private readonly DbParameter _spendId;
        private readonly DbParameter _balanceId;

        public SpendCommands(DbConnection connection, DbTransaction? transaction)
        {
            _spend = connection.CreateCommand();
            _spend.Transaction = transaction;
            _spend.CommandText = SpendSql;
            _spendCost = AddParameter(_spend, "@cost");
            _spendId = AddParameter(_spend, "@id");
            _balance = connection.CreateCommand();
            _balance.Transaction = transaction;
            _balance.CommandText = BalanceSql;
            _balanceId = AddParameter(_balance, "@id");
        }

        public async Task<(bool Spent, long? Remaining)> RunAsync(string keyId, long cost, CancellationToken cancellationToken)
        {
            _spendCost.Value = cost;
            _spendId.Value = keyId;
            if (await _spend.ExecuteScalarAsync(cancellationToken) is { } spent and not DBNull)
            {
                return (true, Convert.ToInt64(spent, CultureInfo.InvariantCulture));
            }

            _balanceId.Value = keyId;
            var current = await _balance.ExecuteScalarAsync(cancellationToken);
            return (false, current is null or DBNull ? null : Convert.ToInt64(current, CultureInfo.InvariantCulture));
        }

        public async ValueTask DisposeAsync()
        {
            await _spend.DisposeAsync();
            await _balance.DisposeAsync();
        }

        private static DbParameter AddParameter(DbCommand command, string name)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            command.Parameters.Add(parameter);
            return parameter;
        }
    }
}
