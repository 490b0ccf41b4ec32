using System.Data.Common;

namespace Gatehouse.Server.Platform.Storage;

/// <summary>One versioned SQL script: <c>NNNN_name.sql</c> under Migrations/{sqlite|postgres}.</summary>
public sealed record SchemaScript(int Version, string Name, string Sql);

/// <summary>
/// Applies the provider's versioned SQL scripts at start. Each script runs in one transaction
/// together with its row in <c>schema_migrations</c>, under a database-wide lock (an advisory
/// lock on PostgreSQL, the write lock of <c>BEGIN IMMEDIATE</c> on SQLite), so two nodes starting
/// at once apply each script exactly once, and a crash mid-script leaves nothing half-applied.
/// </summary>
public sealed class SchemaMigrator(DatabaseTarget target, ILogger<SchemaMigrator> logger)
{
    public static IReadOnlyList<SchemaScript> LoadScripts(DatabaseProvider provider)
    {
        var folder = provider == DatabaseProvider.Postgres ? "postgres" : "sqlite";
        var assembly = typeof(SchemaMigrator).Assembly;
        var prefix = $"migrations/{folder}/";
        var scripts = new List<SchemaScript>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var file = resource[prefix.Length..];
            var underscore = file.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(file[..underscore], out var version))
            {
                throw new InvalidOperationException($"Migration '{file}' is not named NNNN_name.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            scripts.Add(new SchemaScript(version, Path.GetFileNameWithoutExtension(file)[(underscore + 1)..], reader.ReadToEnd()));
        }

        var ordered = scripts.OrderBy(s => s.Version).ToList();
        if (ordered.Select(s => s.Version).Distinct().Count() != ordered.Count)
        {
            throw new InvalidOperationException($"Two {folder} migrations share a version number.");
        }

        return ordered;
    }

    /// <summary>Applies every pending script; returns the versions applied by this call.</summary>
    public IReadOnlyList<int> Migrate()
    {
        using var connection = target.OpenConnection();
        if (target.Provider == DatabaseProvider.Sqlite)
        {
            // WAL lets readers proceed while one writer commits; the setting is stored in the file.
            Execute(connection, null, "PRAGMA journal_mode=WAL;");
        }

        var applied = new List<int>();
        foreach (var script in LoadScripts(target.Provider))
        {
            using var transaction = DatabaseLock.Begin(connection, target.Provider);
            Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
            if (IsApplied(connection, transaction, script.Version))
            {
                transaction.Rollback();
                continue;
            }

            Execute(connection, transaction, script.Sql);
            using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@v, @n, @t)";
                DatabaseLock.AddParameter(record, "@v", script.Version);
                DatabaseLock.AddParameter(record, "@n", script.Name);
                // Runs before the service container (and so the injected clock) exists.
                DatabaseLock.AddParameter(record, "@t", TimeProvider.System.GetUtcNow().UtcDateTime.ToString("O"));
                record.ExecuteNonQuery();
            }

            transaction.Commit();
            applied.Add(script.Version);
            logger.LogInformation("Applied migration {Version} {Name}", script.Version, script.Name);
        }

        return applied;
    }

    private static bool IsApplied(DbConnection connection, DbTransaction transaction, int version)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations WHERE version = @v";
        DatabaseLock.AddParameter(command, "@v", version);
        return Convert.ToInt64(command.ExecuteScalar()) > 0;
    }

    private static void Execute(DbConnection connection, DbTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
