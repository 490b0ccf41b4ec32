using System.Data;
using System.Data.Common;

namespace Gatehouse.Server.Platform.Storage;

/// <summary>
/// A transaction that holds the database-wide start-up lock: <c>BEGIN IMMEDIATE</c> on SQLite
/// (the single write lock), a transaction-scoped advisory lock on PostgreSQL. Used for
/// migrations and first-start bootstrap, so nodes starting together do each step once.
/// </summary>
public static class DatabaseLock
{
    // Any constant works; it only has to be the same on every node.
    private const long PostgresLockKey = 0x6761746568;

    public static DbTransaction Begin(DbConnection connection, DatabaseProvider provider)
    {
        if (provider == DatabaseProvider.Sqlite)
        {
            // Microsoft.Data.Sqlite begins IMMEDIATE unless asked for deferred: the write lock is taken now.
            return connection.BeginTransaction(IsolationLevel.Serializable);
        }

        var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        // Migrations wait for each other and for running nodes' transactions as long as it takes:
        // the lock timeout of ordinary requests (Gatehouse:Database) would fail a start-up instead.
        command.CommandText = $"SET LOCAL lock_timeout = 0; SELECT pg_advisory_xact_lock({PostgresLockKey})";
        command.CommandTimeout = 0;
        command.ExecuteNonQuery();
        return transaction;
    }

    public static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
