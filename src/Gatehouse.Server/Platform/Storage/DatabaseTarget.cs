using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Gatehouse.Server.Platform.Storage;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Which database this node talks to and how to reach it.</summary>
public sealed record DatabaseTarget(DatabaseProvider Provider, string ConnectionString)
{
    public static DatabaseTarget Sqlite(string dataDir) => new(DatabaseProvider.Sqlite, new SqliteConnectionStringBuilder
    {
        DataSource = Path.Combine(dataDir, "gatehouse.db"),
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString());

    /// <summary>
    /// Accepts <c>Host=…;Database=…</c> or a <c>postgres://user:pass@host:port/db</c> URL. With
    /// <paramref name="settings"/>, the connection gets the server's defaults for what the string
    /// leaves unset (<see cref="PostgresTuning"/>).
    /// </summary>
    public static DatabaseTarget Postgres(string url, DatabaseOptions? settings = null)
    {
        if (url.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            var uri = new Uri(url);
            var builder = new NpgsqlConnectionStringBuilder
            {
                Host = uri.Host,
                Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
                Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')),
            };
            var userInfo = uri.UserInfo.Split(':', 2);
            if (userInfo[0].Length > 0)
            {
                builder.Username = Uri.UnescapeDataString(userInfo[0]);
            }

            if (userInfo.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[1]);
            }

            foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = pair.Split('=', 2);
                builder[Uri.UnescapeDataString(parts[0])] = parts.Length == 2 ? Uri.UnescapeDataString(parts[1]) : "";
            }

            url = builder.ToString();
        }

        // Validates the syntax early, so a typo is one clear line at start rather than a failure later.
        _ = new NpgsqlConnectionStringBuilder(url);
        return new DatabaseTarget(DatabaseProvider.Postgres, settings is null ? url : PostgresTuning.Apply(url, settings));
    }

    public void Configure(DbContextOptionsBuilder options)
    {
        if (Provider == DatabaseProvider.Postgres)
        {
            options.UseNpgsql(ConnectionString);
        }
        else
        {
            options.UseSqlite(ConnectionString);
            options.AddInterceptors(SqlitePragmas.Instance);
#pragma warning disable EF1001 // Internal EF Core API, see SqliteConnectionWithoutFunctions.
            options.ReplaceService<Microsoft.EntityFrameworkCore.Sqlite.Storage.Internal.ISqliteRelationalConnection, SqliteConnectionWithoutFunctions>();
#pragma warning restore EF1001
        }
    }

    public DbConnection OpenConnection()
    {
        DbConnection connection = Provider == DatabaseProvider.Postgres
            ? new NpgsqlConnection(ConnectionString)
            : new SqliteConnection(ConnectionString);
        connection.Open();
        if (Provider == DatabaseProvider.Sqlite)
        {
            SqlitePragmas.Apply(connection);
        }

        return connection;
    }
}

/// <summary>Settings of section <c>Gatehouse:Database</c> (PostgreSQL only; a value in the connection string wins).</summary>
public sealed class DatabaseOptions
{
    /// <summary>Connections per node; nodes × this must stay below the server's max_connections less a reserve for operators and migrations.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000)]
    public int MaxPoolSize { get; set; } = 50;

    /// <summary>How long a statement waits for a row or table lock before it fails (answered 409); 0 waits forever.</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 3600)]
    public int LockTimeoutSeconds { get; set; } = 10;

    /// <summary>PostgreSQL ends a session that sits in an open transaction this long, releasing its locks; 0 never does.</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 86_400)]
    public int IdleInTransactionTimeoutSeconds { get; set; } = 60;

    /// <summary>How long one command may run before the client gives up on it.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 3600)]
    public int CommandTimeoutSeconds { get; set; } = 30;

    /// <summary>TCP keepalive probes after this much silence, so a connection to a vanished server or through a dropped NAT entry is noticed; 0 turns them off.</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 3600)]
    public int KeepAliveSeconds { get; set; } = 10;
}

/// <summary>
/// Applies <see cref="DatabaseOptions"/> to a PostgreSQL connection string, each only where the
/// string does not set it: an operator who wrote <c>Maximum Pool Size=200</c> or
/// <c>Options=-c lock_timeout=2s</c> keeps exactly that. The session settings travel in the
/// startup packet (<c>Options</c>), so every pooled connection has them from its first statement.
/// </summary>
public static class PostgresTuning
{
    public static string Apply(string connectionString, DatabaseOptions settings)
    {
        // The generic builder keeps only the keys the string really names, under the spelling used.
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var named = given.Keys.Cast<string>().Select(Normalize).ToHashSet(StringComparer.Ordinal);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!named.Contains("keepalive"))
        {
            builder.KeepAlive = settings.KeepAliveSeconds;
        }

        if (!named.Overlaps(["maxpoolsize", "maximumpoolsize"]))
        {
            builder.MaxPoolSize = settings.MaxPoolSize;
        }

        if (!named.Overlaps(["commandtimeout"]))
        {
            builder.CommandTimeout = settings.CommandTimeoutSeconds;
        }

        var options = builder.Options ?? "";
        // Milliseconds, PostgreSQL's unit for both.
        if (!options.Contains("lock_timeout", StringComparison.OrdinalIgnoreCase))
        {
            options = $"{options} -c lock_timeout={settings.LockTimeoutSeconds * 1000}".Trim();
        }

        if (!options.Contains("idle_in_transaction_session_timeout", StringComparison.OrdinalIgnoreCase))
        {
            options = $"{options} -c idle_in_transaction_session_timeout={settings.IdleInTransactionTimeoutSeconds * 1000}".Trim();
        }

        builder.Options = options;
        return builder.ToString();
    }

    private static string Normalize(string key) => key.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant();
}

/// <summary>
/// EF Core's SQLite connection without the functions it registers for decimal arithmetic and
/// <c>Regex.IsMatch</c> (<c>ef_add</c> … <c>ef_sum</c>, <c>regexp</c>, the <c>EF_DECIMAL</c>
/// collation). Microsoft.Data.Sqlite registers those again on every open of a pooled connection:
/// twelve native registrations, each with its delegates and handles, were a quarter of a
/// cache miss's allocations. Gatehouse stores no decimals and matches no regular expressions in
/// queries; a query that needed them would fail with "no such function" in the tests.
/// </summary>
#pragma warning disable EF1001 // Internal EF Core API: there is no public way to choose how the connection is made; an upgrade that changes it fails the build or the tests.
internal sealed class SqliteConnectionWithoutFunctions(
    RelationalConnectionDependencies dependencies,
    IRawSqlCommandBuilder rawSqlCommandBuilder,
    IDiagnosticsLogger<DbLoggerCategory.Infrastructure> logger)
    : Microsoft.EntityFrameworkCore.Sqlite.Storage.Internal.SqliteRelationalConnection(dependencies, rawSqlCommandBuilder, logger)
{
    protected override DbConnection CreateDbConnection() => new SqliteConnection(GetValidatedConnectionString());
}
#pragma warning restore EF1001

/// <summary>
/// Per-connection SQLite settings. <c>synchronous=FULL</c> in WAL mode: an acknowledged commit is
/// on disk before we answer, so it survives a crash of the process and of the machine. The settings
/// belong to the native connection, which Microsoft.Data.Sqlite pools, so they are applied once per
/// native handle rather than on every open (three statements on every query before).
/// </summary>
internal sealed class SqlitePragmas : DbConnectionInterceptor
{
    public static readonly SqlitePragmas Instance = new();

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> Prepared = [];

    public static void Apply(DbConnection connection)
    {
        var handle = (connection as SqliteConnection)?.Handle;
        if (handle is not null && Prepared.TryGetValue(handle, out _))
        {
            return;
        }

        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;";
        command.ExecuteNonQuery();
        if (handle is not null)
        {
            Prepared.AddOrUpdate(handle, Instance);
        }
    }

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }
}
